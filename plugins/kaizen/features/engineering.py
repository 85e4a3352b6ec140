"""Compute feature tables from the lake's events into Parquet with event timestamps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kaizen.ingest import lake

EVENT_COUNTS = {"view": "views", "addtocart": "carts", "transaction": "purchases"}


def features_dir(lake_dir: Path) -> Path:
    return Path(lake_dir) / "features"


def item_daily_stats(lake_dir: Path) -> Path:
    """Per item and day: views, add-to-carts and purchases, stamped at the day's end.

    The timestamp is when the day's counts became known, so a point-in-time join never
    hands a training row counts from its own future.
    """
    events = lake.read_events(lake_dir, ["item_id", "event_type", "occurred_at"])
    events["day"] = events["occurred_at"].dt.floor("D")
    counts = (
        events[events["event_type"].isin(list(EVENT_COUNTS))]
        .pivot_table(index=["item_id", "day"], columns="event_type", aggfunc="size", fill_value=0)
        .rename(columns=EVENT_COUNTS)
        .reindex(columns=list(EVENT_COUNTS.values()), fill_value=0)
        .reset_index()
    )
    counts["event_timestamp"] = counts["day"] + pd.Timedelta(days=1)
    counts = counts.drop(columns="day").astype({name: "int64" for name in EVENT_COUNTS.values()})
    path = features_dir(lake_dir) / "item_daily_stats.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    counts.to_parquet(path, index=False)
    return path
