"""Which window of a feature table to write to the online store, and writing it.

Refresh materialises incrementally: a table's rows are stamped when their values became
known, so only those after the last materialised end (less a margin for late events) are new.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from feast import FeatureStore

from kaizen.features.tables import written

log = logging.getLogger(__name__)


def materialize(store: FeatureStore, start: datetime, end: datetime, feature_views: list[str] | None = None) -> None:
    log.info("materialising %s from %s to %s", feature_views or "every view", start, end)
    store.materialize(start_date=start, end_date=end, feature_views=feature_views)


def stamp_range(path: Path) -> tuple[datetime, datetime] | None:
    """(first, last) ``event_timestamp`` of a feature table; None when it is empty."""
    column = pq.read_table(written(path), columns=["event_timestamp"])["event_timestamp"]
    if len(column) == 0:
        return None
    bounds = pc.min_max(column)
    return _aware(bounds["min"].as_py()), _aware(bounds["max"].as_py())


def materialization_window(
    stamps: tuple[datetime, datetime], last_end: datetime | None, margin: timedelta, full: bool
) -> tuple[datetime, datetime] | None:
    """[start, end) to materialise a table whose rows span ``stamps``.

    Everything on the first run, after a definition changed or with ``full``; otherwise from
    ``margin`` before the last materialised end, so recomputed late days are written again.
    The end is just past the newest row: the latest row in the window is the latest of all.
    """
    first, last = stamps
    end = last + timedelta(seconds=1)
    start = first if full or last_end is None else max(first, _aware(last_end) - margin)
    return (start, end) if start < end else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
