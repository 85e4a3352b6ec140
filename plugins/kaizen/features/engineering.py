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
``category_trend``
    Per category and day (dense from its first active day): views, add-to-carts and
    purchases that day, views over 7 days, the average daily views over the 7 days before
    (fewer at the lake's start), and ``view_trend = (views_1d + 1) / (views_prev_7d_avg + 1)``.
    An event counts for the category its item had at that time (the item's first known
    category for events older than the first snapshot).
``session_stats``
    Per session and day with events: events so far, distinct items so far, the last
    item and its category, seconds since the session's first event; cumulative over the
    session's days, stamped at the end of each.
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

EVENT_COUNTS = {"view": "views", "addtocart": "carts", "transaction": "purchases"}
ITEM_WINDOWS = (1, 7, 30)
CATEGORY_PREVIOUS_DAYS = 7
TABLES = ("item_activity", "item_catalog", "category_trend", "session_stats")
CATALOG_COLUMNS = ["item_id", "category_id", "price", "available", "updated_at"]
_TRUE = {"t", "true", "1", "yes", "y"}
_US_PER_DAY = 86_400_000_000


def features_dir(lake_dir: Path) -> Path:
    return Path(lake_dir) / "features"


def table_path(lake_dir: Path, name: str) -> Path:
    return features_dir(lake_dir) / f"{name}.parquet"


def item_activity_columns() -> list[str]:
    counts = [f"{kind}_{w}d" for kind in EVENT_COUNTS.values() for w in ITEM_WINDOWS]
    rates = [f"{kind}_rate_{w}d" for kind in ("cart", "purchase") for w in ITEM_WINDOWS]
    return counts + rates


# ---------------------------------------------------------------- reading the lake


def read_lake_events(lake_dir: Path) -> pd.DataFrame:
    """Events with ``day`` (days since 1970-01-01, UTC) and ``kind`` (0 view, 1 cart, 2 purchase, -1 other)."""
    events = lake.read_events(lake_dir, ["session_id", "item_id", "event_type", "occurred_at"])
    if events.empty:
        events = pd.DataFrame(
            {
                "session_id": pd.Series(dtype=object),
                "item_id": pd.Series(dtype=object),
                "event_type": pd.Series(dtype=object),
                "occurred_at": pd.Series(dtype="datetime64[us, UTC]"),
            }
        )
    events = events.dropna(subset=["item_id", "occurred_at"])
    micros = _utc_micros(events["occurred_at"])
    kinds = {name: code for code, name in enumerate(EVENT_COUNTS)}
    return pd.DataFrame(
        {
            "session_id": events["session_id"].to_numpy(dtype=object),
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


def _daily_counts(codes: np.ndarray, days: np.ndarray, kinds: np.ndarray, n_kinds: int = 3):
    """Unique (code, day) sorted, and their counts per kind (int64, one column per kind)."""
    frame = pd.DataFrame({"code": codes, "day": days, "kind": kinds})
    frame = frame[frame["kind"] >= 0]
    counts = frame.groupby(["code", "day", "kind"], sort=True).size().unstack("kind", fill_value=0)
    counts = counts.reindex(columns=range(n_kinds), fill_value=0)
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
    columns = ["item_id", "event_timestamp", *item_activity_columns()]
    counted = events[events["kind"] >= 0]
    if counted.empty:
        return _empty(columns, item_activity_dtypes())
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
    for k, kind in enumerate(EVENT_COUNTS.values()):
        for w in ITEM_WINDOWS:
            out[f"{kind}_{w}d"] = sums[w][:, k]
    for k, kind in ((1, "cart"), (2, "purchase")):
        for w in ITEM_WINDOWS:
            views = sums[w][:, 0]
            out[f"{kind}_rate_{w}d"] = np.divide(
                sums[w][:, k], views, out=np.zeros(len(views), dtype=np.float64), where=views > 0
            )
    return pd.DataFrame(out, columns=columns)


def item_activity_dtypes() -> dict:
    dtypes = {"item_id": object, "event_timestamp": "datetime64[us, UTC]"}
    for name in item_activity_columns():
        dtypes[name] = "float64" if "_rate_" in name else "int64"
    return dtypes


def item_catalog(snapshots: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    columns = ["item_id", "event_timestamp", "category_id", "price", "available", "first_seen"]
    dtypes = {
        "item_id": object,
        "event_timestamp": "datetime64[us, UTC]",
        "category_id": object,
        "price": "float64",
        "available": bool,
        "first_seen": "datetime64[us, UTC]",
    }
    if snapshots.empty:
        return _empty(columns, dtypes)
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
        columns=columns,
    )


def _micros_to_utc(micros: np.ndarray) -> pd.Series:
    return pd.Series(micros.astype("datetime64[us]")).dt.tz_localize("UTC")


def categories_at(catalog: pd.DataFrame, item_ids: pd.Series, micros: np.ndarray) -> np.ndarray:
    """Each (item, time)'s category: the catalogue row in force then, else the item's first known one."""
    result = np.full(len(item_ids), None, dtype=object)
    if catalog.empty or len(item_ids) == 0:
        return result
    lookup = pd.DataFrame(
        {"item_id": item_ids.to_numpy(dtype=object), "micros": micros, "row": np.arange(len(item_ids))}
    )
    table = pd.DataFrame(
        {
            "item_id": catalog["item_id"].to_numpy(dtype=object),
            "micros": _utc_micros(catalog["event_timestamp"]),
            "category_id": catalog["category_id"].to_numpy(dtype=object),
        }
    )
    known = lookup[lookup["item_id"].isin(table["item_id"])].sort_values("micros", kind="stable")
    table = table.sort_values("micros", kind="stable")
    back = pd.merge_asof(known, table, on="micros", by="item_id", direction="backward")
    first = table.drop_duplicates("item_id", keep="first").set_index("item_id")["category_id"]
    category = back["category_id"].where(back["category_id"].notna(), back["item_id"].map(first))
    result[back["row"].to_numpy()] = category.to_numpy(dtype=object)
    return result


def category_trend(events: pd.DataFrame, catalog: pd.DataFrame, first_day: int, last_day: int) -> pd.DataFrame:
    columns = [
        "category_id",
        "event_timestamp",
        "views_1d",
        "carts_1d",
        "purchases_1d",
        "views_7d",
        "views_prev_7d_avg",
        "view_trend",
    ]
    dtypes = {
        "category_id": object,
        "event_timestamp": "datetime64[us, UTC]",
        "views_prev_7d_avg": "float64",
        "view_trend": "float64",
    }
    dtypes.update({c: "int64" for c in columns[2:6]})
    counted = events[events["kind"] >= 0]
    if counted.empty or catalog.empty:
        return _empty(columns, dtypes)
    # Per item and day first (far fewer rows than events), then the category of that item that day.
    codes, uniques = pd.factorize(counted["item_id"], sort=True)
    keys, days, counts = _daily_counts(codes, counted["day"].to_numpy(), counted["kind"].to_numpy())
    item_ids = pd.Series(uniques.to_numpy(dtype=object)[keys])
    category = categories_at(catalog, item_ids, (days + 1) * _US_PER_DAY - 1)
    per_day = pd.DataFrame(counts, columns=list(EVENT_COUNTS.values()))
    per_day["category_id"], per_day["day"] = category, days
    per_day = per_day.dropna(subset=["category_id"]).groupby(["category_id", "day"], sort=True).sum()
    if per_day.empty:
        return _empty(columns, dtypes)
    cat_codes, cat_uniques = pd.factorize(per_day.index.get_level_values("category_id"), sort=True)
    c_days = per_day.index.get_level_values("day").to_numpy(dtype=np.int64)
    c_counts = per_day.to_numpy(dtype=np.int64)
    order = np.lexsort((c_days, cat_codes))
    cat_codes, c_days, c_counts = cat_codes[order], c_days[order], c_counts[order]

    # Dense grid: every day from a category's first active day to the lake's last.
    start = pd.Series(c_days).groupby(cat_codes).min()
    lengths = (last_day - start.to_numpy() + 1).clip(min=0)
    at_keys = np.repeat(start.index.to_numpy(), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    at_days = np.repeat(start.to_numpy(), lengths) + offsets
    one = window_sums(cat_codes, c_days, c_counts, at_keys, at_days, 1)
    eight = window_sums(cat_codes, c_days, c_counts[:, :1], at_keys, at_days, CATEGORY_PREVIOUS_DAYS + 1)[:, 0]
    seven = window_sums(cat_codes, c_days, c_counts[:, :1], at_keys, at_days, 7)[:, 0]
    previous_days = np.clip(at_days - first_day, 0, CATEGORY_PREVIOUS_DAYS)
    previous_avg = np.where(previous_days > 0, (eight - one[:, 0]) / np.maximum(previous_days, 1), one[:, 0]).astype(
        np.float64
    )
    return pd.DataFrame(
        {
            "category_id": cat_uniques.to_numpy(dtype=object)[at_keys],
            "event_timestamp": _stamp(at_days),
            "views_1d": one[:, 0],
            "carts_1d": one[:, 1],
            "purchases_1d": one[:, 2],
            "views_7d": seven,
            "views_prev_7d_avg": previous_avg,
            "view_trend": (one[:, 0] + 1.0) / (previous_avg + 1.0),
        },
        columns=columns,
    )


def session_stats(events: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "session_id",
        "event_timestamp",
        "session_length",
        "distinct_items",
        "last_item_id",
        "last_category_id",
        "duration_s",
    ]
    dtypes = {
        "session_id": object,
        "event_timestamp": "datetime64[us, UTC]",
        "session_length": "int64",
        "distinct_items": "int64",
        "last_item_id": object,
        "last_category_id": object,
        "duration_s": "float64",
    }
    ev = events.dropna(subset=["session_id"])
    if ev.empty:
        return _empty(columns, dtypes)
    codes, uniques = pd.factorize(ev["session_id"], sort=False)
    order = np.lexsort((ev["micros"].to_numpy(), codes))
    codes = codes[order]
    item = ev["item_id"].to_numpy(dtype=object)[order]
    micros = ev["micros"].to_numpy()[order]
    day = ev["day"].to_numpy()[order]
    new_item = ~pd.DataFrame({"s": codes, "i": item}).duplicated().to_numpy()
    frame = pd.DataFrame(
        {"s": codes, "day": day, "n": 1, "new": new_item.astype(np.int64), "micros": micros, "item": item}
    )
    grouped = frame.groupby(["s", "day"], sort=True)
    per_day = grouped.agg(n=("n", "sum"), new=("new", "sum"), last_micros=("micros", "max"), last_item=("item", "last"))
    s = per_day.index.get_level_values("s").to_numpy()
    days = per_day.index.get_level_values("day").to_numpy(dtype=np.int64)
    first_micros = frame.groupby("s", sort=True)["micros"].min()
    last_item = per_day["last_item"].reset_index(drop=True)
    return pd.DataFrame(
        {
            "session_id": np.asarray(uniques, dtype=object)[s],
            "event_timestamp": _stamp(days),
            "session_length": per_day["n"].groupby(level="s").cumsum().to_numpy(dtype=np.int64),
            "distinct_items": per_day["new"].groupby(level="s").cumsum().to_numpy(dtype=np.int64),
            "last_item_id": last_item.to_numpy(dtype=object),
            "last_category_id": categories_at(catalog, last_item, per_day["last_micros"].to_numpy()),
            "duration_s": (per_day["last_micros"].to_numpy() - first_micros.reindex(s).to_numpy()) / 1e6,
        },
        columns=columns,
    )


def _empty(columns: list[str], dtypes: dict) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, object)) for c in columns}, columns=columns)


# ---------------------------------------------------------------- the step


def compute(lake_dir: Path) -> dict[str, pd.DataFrame]:
    """Every feature table from the lake, in memory."""
    events = read_lake_events(lake_dir)
    snapshots = read_catalog_snapshots(lake_dir)
    known_days = np.concatenate(
        [events["day"].to_numpy(dtype=np.int64), snapshots["snapshot_day"].to_numpy(dtype=np.int64)]
    )
    if len(known_days) == 0:
        first_day = last_day = 0
    else:
        first_day = int(events["day"].min()) if len(events) else int(known_days.min())
        last_day = int(known_days.max())
    catalog = item_catalog(snapshots, events)
    return {
        "item_activity": item_activity(events, last_day),
        "item_catalog": catalog,
        "category_trend": category_trend(events, catalog, first_day, last_day),
        "session_stats": session_stats(events, catalog),
    }


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write one table as Parquet, swapped in atomically (readers see the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.cast(pa.schema([_arrow_field(f) for f in table.schema]))
    pq.write_table(table, staging)
    os.replace(staging, path)
    return path


def _arrow_field(field: pa.Field) -> pa.Field:
    if pa.types.is_timestamp(field.type):
        return pa.field(field.name, pa.timestamp("us", tz="UTC"))
    if pa.types.is_null(field.type):
        return pa.field(field.name, pa.string())
    return field


def build(lake_dir: Path) -> dict[str, Path]:
    """Compute every table from the lake and write it under ``lake/features/``; their paths."""
    return {name: write_table(frame, table_path(lake_dir, name)) for name, frame in compute(lake_dir).items()}


def table_rows(path: Path) -> int:
    return ds.dataset(path, format="parquet").count_rows() if Path(path).exists() else 0
