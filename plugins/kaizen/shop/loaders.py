"""Load public e-commerce event logs into the shop's tables (``kaizen shop load``).

Every format is normalised to one frame (session_id, visitor_id, item_id, event_type,
occurred_at, category_id) and streamed into PostgreSQL with COPY.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psycopg2

from kaizen.shop.generator import ShopSpec, generate
from kaizen.shop.schema import migrate

COLUMNS = ["session_id", "visitor_id", "item_id", "event_type", "occurred_at"]
OTTO_TYPES = {"clicks": "view", "carts": "addtocart", "orders": "transaction"}


def read_retailrocket(path: Path) -> pd.DataFrame:
    """RetailRocket as session-rec prepares it: TSV ``Time UserId Type ItemId SessionId CatId``."""
    df = pd.read_csv(path, sep="\t", dtype=str)
    return pd.DataFrame(
        {
            "session_id": df["SessionId"],
            "visitor_id": df["UserId"],
            "item_id": df["ItemId"],
            "event_type": df["Type"],
            "occurred_at": pd.to_datetime(df["Time"].astype("int64"), unit="s", utc=True),
            "category_id": df["CatId"],
        }
    )


def read_sessionrec(path: Path) -> pd.DataFrame:
    """session-rec's prepared format (YooChoose/RSC15, Diginetica): TSV ``SessionId ItemId Time``."""
    df = pd.read_csv(path, sep="\t", dtype={"SessionId": str, "ItemId": str, "Time": "float64"})
    return pd.DataFrame(
        {
            "session_id": df["SessionId"],
            "visitor_id": None,
            "item_id": df["ItemId"],
            "event_type": "view",
            "occurred_at": pd.to_datetime(df["Time"], unit="s", utc=True),
            "category_id": None,
        }
    )


def read_diginetica(path: Path) -> pd.DataFrame:
    """Diginetica ``train-item-views.csv``: ``session_id;user_id;item_id;timeframe;eventdate``.

    ``timeframe`` is milliseconds since the session's day began, ``eventdate`` that day.
    """
    df = pd.read_csv(path, sep=";", dtype=str)
    occurred = pd.to_datetime(df["eventdate"], utc=True) + pd.to_timedelta(df["timeframe"].astype("int64"), unit="ms")
    return pd.DataFrame(
        {
            "session_id": df["session_id"],
            "visitor_id": df["user_id"].where(df["user_id"].notna() & (df["user_id"] != "NA")),
            "item_id": df["item_id"],
            "event_type": "view",
            "occurred_at": occurred,
            "category_id": None,
        }
    )


def read_otto(path: Path) -> pd.DataFrame:
    """OTTO JSONL: ``{"session": int, "events": [{"aid": int, "ts": ms, "type": clicks|carts|orders}]}``."""
    rows = []
    with Path(path).open() as f:
        for line in f:
            if line.strip():
                session = json.loads(line)
                rows += [(str(session["session"]), str(e["aid"]), e["type"], e["ts"]) for e in session["events"]]
    df = pd.DataFrame(rows, columns=["session_id", "item_id", "type", "ts"])
    return pd.DataFrame(
        {
            "session_id": df["session_id"],
            "visitor_id": None,
            "item_id": df["item_id"],
            "event_type": df["type"].map(OTTO_TYPES).fillna(df["type"]),
            "occurred_at": pd.to_datetime(df["ts"], unit="ms", utc=True),
            "category_id": None,
        }
    )


READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "retailrocket": read_retailrocket,
    "sessionrec": read_sessionrec,
    "diginetica": read_diginetica,
    "otto": read_otto,
}


def read(fmt: str, path: Path) -> pd.DataFrame:
    if fmt not in READERS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(READERS)}")
    return READERS[fmt](Path(path))


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
