"""Public e-commerce event logs (RetailRocket, session-rec, Diginetica, OTTO), read into one frame.

Shared because both loading the shop (``kaizen shop load``) and scoring models on public
data (``kaizen evaluate``, the benchmarks) read these files, and the training layer must not
depend on the shop's database to parse them. Every format becomes the columns session_id,
visitor_id, item_id, event_type, occurred_at (UTC) and category_id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from kaizen.errors import ConfigError

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
    """The events of a file in format ``fmt`` (a key of ``READERS``)."""
    if fmt not in READERS:
        raise ConfigError(f"unknown format {fmt!r}; one of {', '.join(READERS)}")
    return READERS[fmt](Path(path))
