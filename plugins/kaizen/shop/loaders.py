"""Load public e-commerce event logs into the shop's tables (``kaizen shop load``).

``kaizen.datasets`` reads every format into one frame; this module streams it into
PostgreSQL with COPY and adds unseen items to the catalogue.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psycopg2

from kaizen.datasets import read
from kaizen.shop.generator import ShopSpec, generate
from kaizen.shop.schema import migrate

COLUMNS = ["session_id", "visitor_id", "item_id", "event_type", "occurred_at"]


def load(shop_db_url: str, fmt: str, path: Path) -> dict[str, int]:
    """Append a file's events to the shop and add its unseen items to the catalogue."""
    frame = read(fmt, path)
    migrate(shop_db_url)
    return load_frame(shop_db_url, frame)


def load_frame(shop_db_url: str, frame: pd.DataFrame) -> dict[str, int]:
    products = (
        frame.dropna(subset=["item_id"])
        .sort_values("occurred_at")
        .groupby("item_id", as_index=False)
        .agg(category_id=("category_id", "last"), updated_at=("occurred_at", "min"))
    )
    conn = psycopg2.connect(shop_db_url)
    try:
        with conn, conn.cursor() as cur:
            new_items = copy_products(cur, products)
            copy_events(cur, frame)
    finally:
        conn.close()
    return {"events": len(frame), "new_items": new_items}


def copy_products(cur, products: pd.DataFrame) -> int:
    """Add catalogue rows whose item is new; returns how many were added."""
    columns = [c for c in ("item_id", "category_id", "price", "available", "updated_at") if c in products]
    cur.execute("CREATE TEMP TABLE new_products (LIKE products INCLUDING DEFAULTS) ON COMMIT DROP")
    cur.copy_expert(f"COPY new_products ({', '.join(columns)}) FROM STDIN WITH CSV", _csv(products[columns]))
    cur.execute("INSERT INTO products SELECT * FROM new_products ON CONFLICT (item_id) DO NOTHING")
    return cur.rowcount


def copy_events(cur, frame: pd.DataFrame) -> None:
    cur.copy_expert(f"COPY events ({', '.join(COLUMNS)}) FROM STDIN WITH CSV", _csv(frame[COLUMNS]))


def load_generated(shop_db_url: str, spec: ShopSpec, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Stream a synthetic shop into the database, one COPY per chunk of sessions."""
    migrate(shop_db_url)
    products, chunks = generate(spec)
    events = 0
    conn = psycopg2.connect(shop_db_url)
    try:
        with conn, conn.cursor() as cur:
            new_items = copy_products(cur, products)
        for chunk in chunks:
            with conn, conn.cursor() as cur:
                copy_events(cur, chunk)
            events += len(chunk)
            if progress:
                progress(events)
    finally:
        conn.close()
    return {"events": events, "new_items": new_items}


def _csv(frame: pd.DataFrame) -> io.StringIO:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S.%f+00")
    buffer.seek(0)
    return buffer
