"""Ingestion's bookkeeping in Kaizen's database: one run at a time, and what each day was built from.

Runs take turns on a PostgreSQL advisory lock held for the whole run, whoever starts them
(the daily DAG, ``kaizen_e2e``, a backfill, the CLI), so two runs never interleave their
rewrites of the lake and the quarantine. ``ingested_days`` remembers how many source rows
each day's partition was built from; a later run that counts more (or fewer) knows events
arrived after the lateness margin and ingests the day again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import psycopg2

from kaizen.ingest import quarantine

log = logging.getLogger(__name__)

LOCK = "kaizen.ingest"


@dataclass
class Run:
    """An ingestion run holding the lock; ``summary`` is stored when it ends."""

    conn: psycopg2.extensions.connection
    run_id: str
    summary: dict = field(default_factory=dict)

    def ingested(self, first: date, last: date) -> dict[date, int]:
        """Rows each day of ``[first, last]`` was last built from (days never ingested are absent)."""
        with self.conn, self.conn.cursor() as cur:
            cur.execute("SELECT day, rows_read FROM ingested_days WHERE day BETWEEN %s AND %s", (first, last))
            return dict(cur.fetchall())

    def commit(self, days: list[date], rows_read: dict[date, int], bad: pd.DataFrame) -> None:
        """Record ``days``' quarantine and their row counts in one transaction."""
        with self.conn, self.conn.cursor() as cur:
            quarantine.replace(cur, days, bad, self.run_id)
            cur.executemany(
                "INSERT INTO ingested_days (day, rows_read, run_id) VALUES (%s, %s, %s) "
                "ON CONFLICT (day) DO UPDATE SET rows_read = EXCLUDED.rows_read, run_id = EXCLUDED.run_id, "
                "ingested_at = now()",
                [(day, rows_read.get(day, 0), self.run_id) for day in days],
            )


@contextmanager
def exclusive_run(kaizen_db_url: str, run_id: str, first_day: date, last_day: date) -> Iterator[Run]:
    """Wait for any other ingestion run to end, then record this one from start to end."""
    conn = psycopg2.connect(kaizen_db_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK,))
            if not cur.fetchone()[0]:
                cur.execute("SELECT run_id, started_at FROM ingest_runs WHERE finished_at IS NULL ORDER BY started_at")
                log.info("waiting for the ingestion run that holds the lock: %s", cur.fetchall())
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtext(%s))", (LOCK,))
            cur.execute(
                "INSERT INTO ingest_runs (run_id, started_at, first_day, last_day) "
                "VALUES (%s, clock_timestamp(), %s, %s)",
                (run_id, first_day, last_day),
            )
        run = Run(conn, run_id)
        try:
            yield run
        except BaseException as exc:
            run.summary = {**run.summary, "error": f"{type(exc).__name__}: {exc}"}
            raise
        finally:
            with conn, conn.cursor() as cur:
                cur.execute(
                    "UPDATE ingest_runs SET finished_at = clock_timestamp(), summary = %s "
                    "WHERE run_id = %s AND finished_at IS NULL",
                    (json.dumps(run.summary, default=str), run_id),
                )
                cur.execute("SELECT pg_advisory_unlock(hashtext(%s))", (LOCK,))
    finally:
        conn.close()
