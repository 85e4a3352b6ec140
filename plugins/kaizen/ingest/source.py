"""Read from the shop's operational database without disturbing it: COPY out, no locks held.

``COPY (SELECT ...) TO STDOUT`` streams rows as CSV, the cheapest way out of PostgreSQL,
and Arrow parses them in C.
"""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv

SOURCE_SCHEMA = pa.schema(
    [
        ("event_id", pa.int64()),
        ("session_id", pa.string()),
        ("visitor_id", pa.string()),
        ("item_id", pa.string()),
        ("event_type", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
    ]
)

_UTC = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS {0}"

# Rows without an event time are taken by the time they were recorded, so that they reach
# the quarantine instead of being skipped by every interval.
EVENTS_SQL = f"""
COPY (
    SELECT event_id, session_id, visitor_id, item_id, event_type,
           {_UTC.format("occurred_at")}, {_UTC.format("recorded_at")}
    FROM events
    WHERE (occurred_at >= {{start}} AND occurred_at < {{end}})
       OR (occurred_at IS NULL AND recorded_at >= {{start}} AND recorded_at < {{end}})
) TO STDOUT WITH (FORMAT csv, HEADER true)
"""


def copy_out(shop_db_url: str, query: str, params: tuple = ()) -> io.BytesIO:
    """Run ``COPY (query) TO STDOUT`` with literal-bound params; the CSV bytes."""
    buffer = io.BytesIO()
    conn = psycopg2.connect(shop_db_url)
    try:
        with conn.cursor() as cur:
            cur.copy_expert(cur.mogrify(query, params).decode() if params else query, buffer)
    finally:
        conn.close()
    buffer.seek(0)
    return buffer


def read_events(shop_db_url: str, start: datetime, end: datetime) -> pa.Table:
    """Events with ``start <= occurred_at < end`` (or, lacking it, recorded then)."""
    query = EVENTS_SQL.format(start="%(start)s", end="%(end)s")
    buffer = copy_out(shop_db_url, query, {"start": start, "end": end})
    options = pacsv.ConvertOptions(column_types=SOURCE_SCHEMA, strings_can_be_null=True)
    return pacsv.read_csv(buffer, convert_options=options).select(SOURCE_SCHEMA.names).cast(SOURCE_SCHEMA)


def read_catalog(shop_db_url: str) -> pd.DataFrame:
    """The products table as it is now: the catalogue snapshot of a run."""
    buffer = copy_out(
        shop_db_url,
        "COPY (SELECT item_id, category_id, price, available, updated_at FROM products) "
        "TO STDOUT WITH (FORMAT csv, HEADER true)",
    )
    return pd.read_csv(
        buffer, dtype={"item_id": str, "category_id": str, "price": "float64"}, parse_dates=["updated_at"]
    )


def time_range(shop_db_url: str) -> tuple[datetime, datetime] | None:
    """First and last event time in the shop, or None when it has no events."""
    conn = psycopg2.connect(shop_db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT min(occurred_at), max(occurred_at) FROM events")
            first, last = cur.fetchone()
    finally:
        conn.close()
    return (first, last) if first else None
