"""The quarantine table: rows ingestion refused, the rule they broke, and the run."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import psycopg2

COLUMNS = [
    "event_id",
    "session_id",
    "visitor_id",
    "item_id",
    "event_type",
    "occurred_at",
    "partition_date",
    "rule",
    "all_rules",
    "run_id",
]


def replace(shop_db_url: str, days: list[date], rows: pd.DataFrame, run_id: str) -> None:
    """Make the quarantine of ``days`` hold exactly ``rows`` (one transaction)."""
    frame = rows.assign(
        all_rules=["{" + ",".join(r) + "}" for r in rows["all_rules"]],
        run_id=run_id,
    )[COLUMNS]
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S.%f+00")
    buffer.seek(0)
    conn = psycopg2.connect(shop_db_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM ingest_quarantine WHERE partition_date = ANY(%s)", (days,))
            cur.copy_expert(f"COPY ingest_quarantine ({', '.join(COLUMNS)}) FROM STDIN WITH CSV", buffer)
    finally:
        conn.close()
