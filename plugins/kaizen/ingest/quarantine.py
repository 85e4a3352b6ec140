"""The quarantine table, in Kaizen's database: rows ingestion refused, the rule they broke, and the run."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd

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
TEXT = ["session_id", "visitor_id", "item_id", "event_type"]


def replace(cur, days: list[date], rows: pd.DataFrame, run_id: str) -> None:
    """Make the quarantine of ``days`` hold exactly ``rows``, in the cursor's transaction."""
    frame = rows.assign(
        all_rules=["{" + ",".join(r) + "}" for r in rows["all_rules"]],
        run_id=run_id,
        # PostgreSQL's text cannot hold NUL: stored as U+FFFD, like bytes that were not UTF-8.
        **{c: rows[c].astype(object).str.replace("\x00", "\ufffd", regex=False) for c in TEXT},
    )[COLUMNS]
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S.%f+00")
    buffer.seek(0)
    cur.execute("DELETE FROM ingest_quarantine WHERE partition_date = ANY(%s)", (days,))
    cur.copy_expert(f"COPY ingest_quarantine ({', '.join(COLUMNS)}) FROM STDIN WITH CSV", buffer)
