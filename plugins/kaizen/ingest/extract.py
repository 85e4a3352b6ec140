"""Extract one interval of shop events from PostgreSQL into ``events/date=YYYY-MM-DD/`` Parquet.

COPY ... TO STDOUT streams the rows as CSV, the cheapest way out of PostgreSQL, and Arrow
parses them in C. Re-running an interval replaces that interval's partitions: the same
interval twice leaves the same rows.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds

log = logging.getLogger(__name__)

EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.int64()),
        ("session_id", pa.string()),
        ("visitor_id", pa.string()),
        ("item_id", pa.string()),
        ("event_type", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
    ]
)

EXTRACT_SQL = """
COPY (
    SELECT event_id, session_id, visitor_id, item_id, event_type,
           to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at
    FROM events
    WHERE occurred_at >= {start} AND occurred_at < {end}
    ORDER BY occurred_at, event_id
) TO STDOUT WITH (FORMAT csv, HEADER true)
"""


@dataclass(frozen=True)
class ExtractResult:
    rows: int
    partitions: list[str]

    def as_dict(self) -> dict:
        return {"rows": self.rows, "partitions": self.partitions}


def shop_time_range(shop_db_url: str) -> tuple[datetime, datetime] | None:
    """First and last event time in the shop, or None when it has no events."""
    with psycopg2.connect(shop_db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT min(occurred_at), max(occurred_at) FROM events")
        first, last = cur.fetchone()
    conn.close()
    return (first, last) if first else None


def read_interval(shop_db_url: str, start: datetime, end: datetime) -> pa.Table:
    """The events with ``start <= occurred_at < end`` as an Arrow table."""
    buffer = io.BytesIO()
    conn = psycopg2.connect(shop_db_url)
    try:
        with conn.cursor() as cur:
            query = EXTRACT_SQL.format(start=cur.mogrify("%s", (start,)).decode(), end=cur.mogrify("%s", (end,)).decode())
            cur.copy_expert(query, buffer)
    finally:
        conn.close()
    buffer.seek(0)
    options = pacsv.ConvertOptions(column_types=EVENT_SCHEMA, strings_can_be_null=True)
    return pacsv.read_csv(buffer, convert_options=options).select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)


def write_partitions(table: pa.Table, events_dir: Path) -> list[str]:
    """Write by event date; partitions present in ``table`` are replaced whole."""
    dates = pc.strftime(table["occurred_at"], format="%Y-%m-%d")
    table = table.append_column("date", dates)
    ds.write_dataset(
        table,
        events_dir,
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive"),
        existing_data_behavior="delete_matching",
        basename_template="part-{i}.parquet",
    )
    return sorted(set(dates.to_pylist()))


def extract(shop_db_url: str, lake_dir: Path, start: datetime, end: datetime) -> ExtractResult:
    table = read_interval(shop_db_url, start, end)
    partitions = write_partitions(table, events_dir(lake_dir)) if table.num_rows else []
    log.info("extracted %d events from %s to %s into %d partitions", table.num_rows, start, end, len(partitions))
    return ExtractResult(table.num_rows, partitions)


def events_dir(lake_dir: Path) -> Path:
    return Path(lake_dir) / "events"


def extract_all(shop_db_url: str, lake_dir: Path) -> ExtractResult:
    """Extract the shop's whole history (the thin end-to-end run's snapshot)."""
    span = shop_time_range(shop_db_url)
    if span is None:
        raise ValueError("the shop has no events: load some with `kaizen shop load`")
    first, last = span
    return extract(shop_db_url, lake_dir, first, last + timedelta(microseconds=1))
