"""Shared fixtures: real PostgreSQL databases and one real embedded stack per test session.

PostgreSQL: ``KAIZEN_TEST_DATABASE_URL`` (an admin URL) when set, else the server on
127.0.0.1:5432 that CI's machine runs. Every test that needs a database gets a new one,
dropped afterwards, so no test depends on another's leftovers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import psycopg2
import pytest
from psycopg2 import sql

from kaizen import lake
from kaizen.config import PROJECT_DIR, Settings
from kaizen.db_urls import with_database
from kaizen.monitoring.replay import replay
from kaizen.stack.demo import DEMO_DATA
from kaizen.stack.embedded import private_env, resolve
from webhook_receiver import Receiver

ADMIN_URL = os.environ.get("KAIZEN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
KAIZEN = [sys.executable, "-m", "kaizen"]


def _admin():
    conn = psycopg2.connect(ADMIN_URL, connect_timeout=5)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    try:
        _admin().close()
    except psycopg2.OperationalError as exc:
        pytest.fail(f"no PostgreSQL at {ADMIN_URL} (set KAIZEN_TEST_DATABASE_URL): {exc}")
    return ADMIN_URL


@pytest.fixture
def new_database(pg_admin_url):
    """Make new, empty databases (``new_database()`` -> its admin URL); dropped after the test."""
    names = []

    def make(options: str = "") -> str:
        """``options``: CREATE DATABASE's, e.g. "ENCODING 'SQL_ASCII' TEMPLATE template0"."""
        name = f"kaizen_test_{uuid.uuid4().hex[:10]}"
        conn = _admin()
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {} {}").format(sql.Identifier(name), sql.SQL(options)))
        conn.close()
        names.append(name)
        return with_database(pg_admin_url, name)

    yield make
    conn = _admin()
    with conn.cursor() as cur:
        for name in names:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.close()


@pytest.fixture
def fresh_db(new_database) -> str:
    """A new, empty database; its URL. Dropped after the test."""
    return new_database()


@pytest.fixture
def kaizen_db(new_database) -> str:
    """Kaizen's own database for the test (quarantine, bookkeeping), apart from the shop's."""
    return new_database()


@pytest.fixture(scope="session")
def alert_receiver():
    """The webhook the test stack's alerts go to."""
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def stack_env(alert_receiver) -> dict[str, str]:
    """Environment of a private embedded stack on free ports (its own PostgreSQL cluster)."""
    return {
        **os.environ,
        **private_env("kaizen-test-home-"),
        "KAIZEN_ALERT_WEBHOOK_URL": alert_receiver.url,
        # Tests unpause what they run: a chain started by one test's ingestion would move
        # @champion under another's feet.
        "KAIZEN_START_PAUSED": "true",
        # The demo shop's newest day holds a couple of hundred replayable answers, not thousands.
        "KAIZEN_MONITOR_MIN_ANSWERS": "50",
        "KAIZEN_SERVING_POLL_S": "1",
        "KAIZEN_DEPLOY_TIMEOUT_S": "15",
        # Latency budgets are for benchmarks; a busy CI machine must not fail roll-outs on them.
        "KAIZEN_DEPLOY_P99_BUDGET_MS": "1000",
        # Short staleness bound and refresh, so the outage tests see answers go stale and
        # come back within seconds.
        "KAIZEN_ITEM_REFRESH_S": "1",
        "KAIZEN_ITEM_MAX_AGE_S": "5",
    }


@pytest.fixture(scope="session")
def stack(stack_env) -> Settings:
    """The embedded stack, up for the whole session, down at its end."""
    result = subprocess.run([*KAIZEN, "up"], env=stack_env, cwd=PROJECT_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        subprocess.run([*KAIZEN, "down"], env=stack_env, cwd=PROJECT_DIR)
        pytest.fail(f"kaizen up failed:\n{result.stdout}\n{result.stderr}")
    yield resolve(Settings.from_env(stack_env)).settings  # with the URLs `kaizen up` derived
    subprocess.run([*KAIZEN, "down"], env=stack_env, cwd=PROJECT_DIR, check=True)
    shutil.rmtree(stack_env["KAIZEN_HOME"], ignore_errors=True)


@pytest.fixture(scope="session")
def e2e_run(stack) -> str:
    """kaizen_e2e triggered once over Airflow's REST API on the demo shop; its run id."""
    from kaizen.stack.demo import DAG_ID, load_demo_shop, run_dag

    load_demo_shop(stack.demo_shop_db_url)
    return run_dag(stack, DAG_ID)


def _logged(url: str, session_ids: list[str]) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM prediction_log WHERE session_id = ANY(%s)", (session_ids,))
        (count,) = cur.fetchone()
    conn.close()
    return count


@pytest.fixture(scope="session")
def replayed(stack, e2e_run) -> int:
    """120 whole sessions of the lake's newest day replayed against the model server; how many
    answers they got (all logged when this returns)."""
    events = lake.read_events(stack.lake_dir, ["session_id", "item_id", "event_type", "occurred_at"], newest_days=2)
    newest_day = events["occurred_at"].max().floor("D")
    began = events.groupby("session_id")["occurred_at"].min()
    views = events[events["event_type"] == "view"].groupby("session_id").size()
    chosen = views[(views >= 3) & (began.reindex(views.index) >= newest_day)].index[:120]  # whole sessions
    sessions = events[events["session_id"].isin(chosen)]
    sent = replay(stack.model_server_url, sessions)
    ids = list(chosen)
    deadline = time.monotonic() + 30
    while _logged(stack.kaizen_db_url, ids) < sent and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _logged(stack.kaizen_db_url, ids) == sent
    return sent


def run_kaizen(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*KAIZEN, *args], env=env, cwd=PROJECT_DIR, capture_output=True, text=True)


DATA = PROJECT_DIR / "data"
RETAILROCKET = DEMO_DATA
OTTO = DATA / "otto-sample" / "sessions.jsonl"


def pytest_collection_modifyitems(items):
    """The DAG-integrity tests first: a broken DAG file should fail in seconds, not after the
    stacks. Then the tests of a stack nothing has run on yet (``fresh_stack``)."""

    def order(item) -> int:
        if item.nodeid.split("::")[0] == "tests/test_dag_integrity.py":
            return 0
        return 1 if item.get_closest_marker("fresh_stack") else 2

    items.sort(key=order)
