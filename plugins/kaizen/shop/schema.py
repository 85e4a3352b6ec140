"""Versioned migrations of the shop's schema: numbered SQL files, applied once each, in order."""

from __future__ import annotations

from importlib import resources

import psycopg2
from psycopg2 import sql

MIGRATIONS = resources.files("kaizen.shop") / "migrations"


def migrate(shop_db_url: str, prediction_writer: str | None = None) -> list[str]:
    """Apply pending migrations in one transaction each; returns the names applied.

    ``prediction_writer``, when that role exists, may then insert into the prediction log and
    do nothing else (the model server's login; the stacks provision it)."""
    applied_now = []
    conn = psycopg2.connect(shop_db_url)
    try:
        with conn, conn.cursor() as cur:
            # One migrator at a time (session lock), even when two DAG runs start together.
            cur.execute("SELECT pg_advisory_lock(hashtext('kaizen.shop.migrate'))")
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT name FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
        for migration in sorted(MIGRATIONS.iterdir(), key=lambda p: p.name):
            if not migration.name.endswith(".sql") or migration.name in done:
                continue
            with conn, conn.cursor() as cur:
                cur.execute(migration.read_text())
                cur.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (migration.name,))
            applied_now.append(migration.name)
        if prediction_writer:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (prediction_writer,))
                if cur.fetchone():
                    cur.execute(
                        sql.SQL("GRANT INSERT ON prediction_log TO {}").format(sql.Identifier(prediction_writer))
                    )
    finally:
        conn.close()
    return applied_now
