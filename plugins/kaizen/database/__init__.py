"""Kaizen's own database: the tables Kaizen writes (quarantine, prediction log, ingestion
bookkeeping), created by numbered migrations.

Kaizen never writes to the shop's database; everything it records lives here, in a database
the stacks create like every other component's (``KAIZEN_DB_URL``).
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable

import psycopg2
from psycopg2 import sql

MIGRATIONS = resources.files("kaizen.database") / "migrations"


def apply_migrations(url: str, migrations: Traversable, lock_name: str) -> list[str]:
    """Apply the ``NNNN_name.sql`` files of ``migrations`` not yet recorded in the database's
    ``schema_migrations``, in order, one transaction each; the names applied now.

    A session-level advisory lock makes concurrent callers (two DAG runs starting together)
    take turns instead of applying a migration twice.
    """
    applied_now = []
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock_name,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT name FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
        for migration in sorted(migrations.iterdir(), key=lambda p: p.name):
            if not migration.name.endswith(".sql") or migration.name in done:
                continue
            with conn, conn.cursor() as cur:
                cur.execute(migration.read_text())
                cur.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (migration.name,))
            applied_now.append(migration.name)
    finally:
        conn.close()
    return applied_now


# What each login other than the owner may do, once its role exists (the stacks provision them).
GRANTS = {
    "prediction_writer": "GRANT INSERT ON prediction_log TO {}",  # the model server
    "dashboard_reader": "GRANT SELECT ON online_quality, drift_checks, retrain_requests TO {}",  # Grafana
}


def migrate(kaizen_db_url: str, prediction_writer: str | None = None, dashboard_reader: str | None = None) -> list[str]:
    """Bring Kaizen's database up to date; the migrations applied now.

    ``prediction_writer``, when that role exists, may then insert into the prediction log and
    do nothing else (the model server's login); ``dashboard_reader`` may read monitoring's
    tables (Grafana's)."""
    applied = apply_migrations(kaizen_db_url, MIGRATIONS, "kaizen.database.migrate")
    roles = {"prediction_writer": prediction_writer, "dashboard_reader": dashboard_reader}
    conn = psycopg2.connect(kaizen_db_url)
    try:
        with conn, conn.cursor() as cur:
            for kind, role in roles.items():
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if role and cur.fetchone():
                    cur.execute(sql.SQL(GRANTS[kind]).format(sql.Identifier(role)))
    finally:
        conn.close()
    return applied
