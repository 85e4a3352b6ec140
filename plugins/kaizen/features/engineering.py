"""Feature engineering: the lake's events and catalogue snapshots -> Parquet feature tables.

Every table has an ``event_timestamp``: the moment its values became known. A day's
counts are stamped at the END of that day (00:00 UTC of the next), so a point-in-time
join never hands a training row numbers from its own future. Tables are full recomputes
of the lake (a pure function of it) and are swapped in whole, so a reader never sees half.

Tables (one row per entity and change point, not per calendar day: values are piecewise
constant between the rows, which is what Feast's as-of join and its online store need):

``item_activity``
    Views, add-to-carts and purchases of an item over the last 1, 7 and 30 days, and
    add-to-cart and purchase rates (per view; 0 without views) over the same windows. A
    row at every day end where a window changes: the end of each day with events and the
    ends of the days 1, 7 and 30 days after it, so the all-zero row that follows a month
    without events is there too.
``item_catalog``
    Category, price, availability and first-seen time, from the catalogue snapshots. A
    row when an item first appears and whenever its attributes change. The first row is
    stamped at the product's ``updated_at`` (the shop's own "valid since"), a change at the
    later of ``updated_at`` and the end of the previous snapshot's day (the change happened
    after that snapshot was taken). ``first_seen`` is the earlier of the item's first event
    and its first catalogue row.

The tables' columns and types are declared in ``kaizen.features.tables``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from kaizen import lake
from kaizen.features.tables import (
    COUNTED_EVENTS,
    ITEM_ACTIVITY,
    ITEM_CATALOG,
    ITEM_WINDOWS,
    RATED_EVENTS,
    TABLES,
    Table,
    count_column,
    rate_column,
    written,
)

# The kind codes of read_lake_events: an event type's position in COUNTED_EVENTS.
KINDS = list(COUNTED_EVENTS)
CATALOG_COLUMNS = ["item_id", "category_id", "price", "available", "updated_at"]
_TRUE = {"t", "true", "1", "yes", "y"}
_US_PER_DAY = 86_400_000_000


# ---------------------------------------------------------------- reading the lake


def read_lake_events(lake_dir: Path) -> pd.DataFrame:
    """Events with ``day`` (days since 1970-01-01, UTC) and ``kind`` (0 view, 1 cart, 2 purchase, -1 other)."""
    events = lake.read_events(lake_dir, ["item_id", "event_type", "occurred_at"])
    if events.empty:
        events = pd.DataFrame(
            {
                "item_id": pd.Series(dtype=object),
                "event_type": pd.Series(dtype=object),
                "occurred_at": pd.Series(dtype="datetime64[us, UTC]"),
            }
        )
    events = events.dropna(subset=["item_id", "occurred_at"])
    micros = _utc_micros(events["occurred_at"])
    kinds = {name: code for code, name in enumerate(KINDS)}
    return pd.DataFrame(
        {
            "item_id": events["item_id"].astype(str).to_numpy(dtype=object),
            "kind": events["event_type"].map(kinds).fillna(-1).astype(np.int8).to_numpy(),
            "micros": micros,
            "day": micros // _US_PER_DAY,
        }
    )


def read_catalog_snapshots(lake_dir: Path) -> pd.DataFrame:
    """Every ``catalog/date=YYYY-MM-DD/products.parquet``, with ``snapshot_day`` (days since epoch)."""
    frames = []
    root = lake.catalog_dir(lake_dir)
    for path in sorted(root.glob("date=*/products.parquet")) if root.exists() else []:
        day = pd.Timestamp(path.parent.name.split("=", 1)[1])
        frame = pd.read_parquet(path)
        frame = frame.reindex(columns=CATALOG_COLUMNS)
        frame["snapshot_day"] = int(day.value // (_US_PER_DAY * 1000))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(
            {
                "item_id": pd.Series(dtype=object),
                "category_id": pd.Series(dtype=object),
                "price": pd.Series(dtype="float64"),
                "available": pd.Series(dtype=bool),
                "updated_micros": pd.Series(dtype="int64"),
                "snapshot_day": pd.Series(dtype="int64"),
            }
        )
    snapshots = pd.concat(frames, ignore_index=True).dropna(subset=["item_id"])
    updated = pd.to_datetime(snapshots["updated_at"], utc=True, errors="coerce")
    end_of_snapshot = (snapshots["snapshot_day"].to_numpy() + 1) * _US_PER_DAY
    updated_micros = np.where(updated.isna(), end_of_snapshot, _utc_micros(updated.fillna(pd.Timestamp(0, tz="UTC"))))
    return pd.DataFrame(
        {
            "item_id": snapshots["item_id"].astype(str).to_numpy(dtype=object),
            "category_id": _strings(snapshots["category_id"]),
            "price": pd.to_numeric(snapshots["price"], errors="coerce").astype("float64").to_numpy(),
            "available": _as_bool(snapshots["available"]),
            "updated_micros": updated_micros.astype(np.int64),
            "snapshot_day": snapshots["snapshot_day"].to_numpy(dtype=np.int64),
        }
    )


def _strings(series: pd.Series) -> np.ndarray:
    """As Python strings (category ids may come back numeric), None where missing."""
    text = series.astype("string")
    return text.astype(object).where(text.notna(), None).to_numpy(dtype=object)


def _utc_micros(series: pd.Series) -> np.ndarray:
    values = series
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.to_numpy(dtype="datetime64[us]").astype(np.int64)


def _as_bool(series: pd.Series) -> np.ndarray:
    """Availability as bool: PostgreSQL's CSV gives ``t``/``f``; missing means available (the column's default)."""
    if series.dtype == bool:
        return series.to_numpy()
    text = series.astype("string").str.strip().str.lower()
    return (text.isin(_TRUE) | series.isna()).to_numpy(dtype=bool)


# ---------------------------------------------------------------- windowed sums


def window_sums(
    keys: np.ndarray, days: np.ndarray, values: np.ndarray, at_keys: np.ndarray, at_days: np.ndarray, window: int
) -> np.ndarray:
    """For each (``at_keys``, ``at_days``): the sums of ``values`` over days (at_day - window, at_day] of that key.

    ``keys``/``days`` index the rows of ``values`` (2-D, one column per measure), sorted by
    (key, day) and unique. Cumulative sums plus two binary searches: no Python loop, no
    dense item x day matrix.
    """
    span = int(max(days.max(initial=0), at_days.max(initial=0))) + window + 2
    composite = keys.astype(np.int64) * span + days
    cumulative = np.vstack([np.zeros((1, values.shape[1]), dtype=np.int64), np.cumsum(values, axis=0, dtype=np.int64)])
    at = at_keys.astype(np.int64) * span + at_days
    upper = np.searchsorted(composite, at, side="right")
    lower = np.searchsorted(composite, at - window, side="right")
    return cumulative[upper] - cumulative[lower]


def _daily_counts(codes: np.ndarray, days: np.ndarray, kinds: np.ndarray):
    """Unique (code, day) sorted, and their counts per kind (int64, one column per kind)."""
    frame = pd.DataFrame({"code": codes, "day": days, "kind": kinds})
    frame = frame[frame["kind"] >= 0]
    counts = frame.groupby(["code", "day", "kind"], sort=True).size().unstack("kind", fill_value=0)
    counts = counts.reindex(columns=range(len(KINDS)), fill_value=0)
    index = counts.index
    return (
        index.get_level_values("code").to_numpy(dtype=np.int64),
        index.get_level_values("day").to_numpy(dtype=np.int64),
        counts.to_numpy(dtype=np.int64),
    )


def _stamp(day_ends: np.ndarray) -> pd.Series:
    """Days since epoch (the day that ended) -> the UTC instant it ended."""
    return pd.Series(((day_ends + 1) * _US_PER_DAY).astype("datetime64[us]")).dt.tz_localize("UTC")


# ---------------------------------------------------------------- tables


def item_activity(events: pd.DataFrame, last_day: int) -> pd.DataFrame:
    counted = events[events["kind"] >= 0]
    if counted.empty:
        return _empty(ITEM_ACTIVITY)
    codes, uniques = pd.factorize(counted["item_id"], sort=True)
    keys, days, counts = _daily_counts(codes, counted["day"].to_numpy(), counted["kind"].to_numpy())

    # Change points: the end of each active day and of the days each window slides past it.
    offsets = np.array([0, *ITEM_WINDOWS], dtype=np.int64)
    at_keys = np.repeat(keys, len(offsets))
    at_days = (days[:, None] + offsets[None, :]).ravel()
    keep = at_days <= last_day
    points = np.unique(at_keys[keep] * (last_day + 2) + at_days[keep])
    at_keys, at_days = points // (last_day + 2), points % (last_day + 2)

    out = {"item_id": uniques.to_numpy(dtype=object)[at_keys], "event_timestamp": _stamp(at_days)}
    sums = {w: window_sums(keys, days, counts, at_keys, at_days, w) for w in ITEM_WINDOWS}
    for k, event_type in enumerate(KINDS):
        for w in ITEM_WINDOWS:
            out[count_column(event_type, w)] = sums[w][:, k]
    view = KINDS.index("view")
    for event_type in RATED_EVENTS:
        k = KINDS.index(event_type)
        for w in ITEM_WINDOWS:
            views = sums[w][:, view]
            out[rate_column(event_type, w)] = np.divide(
                sums[w][:, k], views, out=np.zeros(len(views), dtype=np.float64), where=views > 0
            )
    return pd.DataFrame(out, columns=list(ITEM_ACTIVITY.columns))


def item_catalog(snapshots: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    if snapshots.empty:
        return _empty(ITEM_CATALOG)
    snap = snapshots.sort_values(["item_id", "snapshot_day"], kind="stable").drop_duplicates(
        ["item_id", "snapshot_day"], keep="last"
    )
    same_item = snap["item_id"].eq(snap["item_id"].shift())
    attributes = ["category_id", "price", "available"]
    changed = pd.Series(False, index=snap.index)
    for name in attributes:
        now, before = snap[name], snap[name].shift()
        changed |= ~(now.eq(before) | (now.isna() & before.isna()))
    rows = snap[~same_item | changed].copy()
    previous_snapshot_end = (snap["snapshot_day"].shift() + 1) * _US_PER_DAY
    rows["stamp"] = np.where(
        same_item[rows.index],
        np.maximum(rows["updated_micros"], previous_snapshot_end[rows.index].fillna(0).astype(np.int64)),
        rows["updated_micros"],
    )
    # Two changes stamped alike (updated_at not bumped): the later snapshot wins by a microsecond.
    rows = rows.sort_values(["item_id", "snapshot_day"], kind="stable")
    rows["stamp"] = rows.groupby("item_id", sort=False)["stamp"].cummax()
    bump = rows["item_id"].eq(rows["item_id"].shift()) & rows["stamp"].le(rows["stamp"].shift())
    rows["stamp"] = rows["stamp"] + bump.groupby(rows["item_id"], sort=False).cumsum()

    first_row = rows.groupby("item_id", sort=False)["stamp"].transform("min")
    first_event = events.groupby("item_id")["micros"].min()
    first_event_of_row = rows["item_id"].map(first_event).to_numpy(dtype=np.float64)
    first_seen = np.fmin(first_row.to_numpy(dtype=np.float64), first_event_of_row)
    return pd.DataFrame(
        {
            "item_id": rows["item_id"].to_numpy(dtype=object),
            "event_timestamp": _micros_to_utc(rows["stamp"].to_numpy(dtype=np.int64)),
            "category_id": rows["category_id"].to_numpy(dtype=object),
            "price": rows["price"].to_numpy(dtype=np.float64),
            "available": rows["available"].to_numpy(dtype=bool),
            "first_seen": _micros_to_utc(first_seen.astype(np.int64)),
        },
        columns=list(ITEM_CATALOG.columns),
    )


def _micros_to_utc(micros: np.ndarray) -> pd.Series:
    return pd.Series(micros.astype("datetime64[us]")).dt.tz_localize("UTC")


def _empty(table: Table) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=kind.pandas) for name, kind in table.columns.items()})


# ---------------------------------------------------------------- the step


def compute(lake_dir: Path) -> dict[str, pd.DataFrame]:
    """Every feature table from the lake, in memory."""
    events = read_lake_events(lake_dir)
    snapshots = read_catalog_snapshots(lake_dir)
    known_days = np.concatenate(
        [events["day"].to_numpy(dtype=np.int64), snapshots["snapshot_day"].to_numpy(dtype=np.int64)]
    )
    last_day = int(known_days.max()) if len(known_days) else 0
    return {
        ITEM_ACTIVITY.name: item_activity(events, last_day),
        ITEM_CATALOG.name: item_catalog(snapshots, events),
    }


def write_table(lake_dir: Path, table: Table, frame: pd.DataFrame) -> Path:
    """Write one table as Parquet with its declared types, swapped in atomically (readers see
    the old or the new file)."""
    path = table.path(lake_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    pq.write_table(pa.Table.from_pandas(frame, schema=table.arrow_schema(), preserve_index=False), staging)
    os.replace(staging, path)
    return path


def build(lake_dir: Path) -> dict[str, Path]:
    """Compute every table from the lake and write it under ``lake/features/``; their paths."""
    return {name: write_table(lake_dir, TABLES[name], frame) for name, frame in compute(lake_dir).items()}


def table_rows(path: Path) -> int:
    return ds.dataset(written(path), format="parquet").count_rows()
