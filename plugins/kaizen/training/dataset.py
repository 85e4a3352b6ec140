"""Sessions from the lake, split by time into training and test, as the literature splits them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from kaizen import lake
from kaizen.errors import UpstreamMissing
from kaizen.models import Sessions
from kaizen.models.knn import ranges


@dataclass(frozen=True)
class Split:
    train: Sessions
    test: Sessions
    test_start: pd.Timestamp
    digest: str  # identifies the exact events used, for "same data" comparisons


def read_events(lake_dir: Path, event_types=("view",)) -> pd.DataFrame:
    events = lake.read_events(lake_dir, ["event_id", "session_id", "item_id", "event_type", "occurred_at"])
    return events[events["event_type"].isin(event_types)].dropna(subset=["session_id", "item_id"])


def read_window(lake_dir: Path, days: float) -> pd.DataFrame:
    """The lake's view events of the last ``days``, counted back from its newest event (not from
    today): a lake that stopped growing still trains on its most recent data."""
    events = read_events(lake_dir)
    if events.empty:
        raise UpstreamMissing(f"no view events in the lake at {lake_dir}: run the ingest_shop_events DAG first")
    return events[events["occurred_at"] >= events["occurred_at"].max() - pd.Timedelta(days=days)]


def time_split(events: pd.DataFrame, test_days: float = 2.0, max_test_sessions: int | None = None) -> Split:
    """Test = sessions whose last event falls in the final ``test_days``; the rest train.

    Test events of items unseen in training are removed and test sessions left with
    fewer than two events dropped: a model cannot be asked to predict an unknown item.
    Beyond ``max_test_sessions`` test sessions, an even random sample of that many is kept
    (the same for the same events): every prediction costs a pass over all items.
    """
    end = events["occurred_at"].max()
    test_start = end - pd.Timedelta(days=test_days)
    session_end = events.groupby("session_id")["occurred_at"].transform("max")
    train_events, test_events = events[session_end < test_start], events[session_end >= test_start]
    train = sessions_of(train_events)
    test = drop_short(sessions_of(test_events, train.vocabulary))
    return Split(train, sample(test, max_test_sessions), test_start, digest(events))


def sample(sessions: Sessions, max_sessions: int | None, seed: int = 0) -> Sessions:
    """At most ``max_sessions`` of ``sessions``, drawn evenly at random, in their order."""
    if not max_sessions or sessions.n_sessions <= max_sessions:
        return sessions
    keep = np.sort(np.random.default_rng(seed).choice(sessions.n_sessions, size=max_sessions, replace=False))
    lengths = np.diff(sessions.offsets)[keep]
    events = ranges(sessions.offsets[keep], lengths)
    return replace(
        sessions,
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        items=sessions.items[events],
        times=sessions.times[events],
    )


def sessions_of(events: pd.DataFrame, vocabulary: np.ndarray | None = None) -> Sessions:
    """Sessions of the events, with each item's category when the events carry ``category_id``."""
    seconds = (events["occurred_at"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    categories = None
    if "category_id" in events.columns and events["category_id"].notna().any():
        categories = events["category_id"].fillna("").astype(str).to_numpy()
    return Sessions.from_events(
        events["session_id"], events["item_id"], seconds, vocabulary=vocabulary, categories=categories
    )


def with_categories(sessions: Sessions, categories: pd.Series) -> Sessions:
    """``sessions`` with each item's category from ``categories`` (item id -> category id)."""
    named = categories.dropna().astype(str)
    return replace(sessions, categories=named.reindex(sessions.vocabulary).fillna("").to_numpy(dtype=str))


def common_test(test: Sessions, vocabulary_a: np.ndarray, vocabulary_b: np.ndarray) -> tuple[Sessions, Sessions]:
    """The test sessions restricted to items both vocabularies know, indexed for each:
    two models scored on these answer exactly the same predictions."""
    ids = test.vocabulary[test.items]
    keep = np.isin(ids, vocabulary_a) & np.isin(ids, vocabulary_b)
    session, times = test.session_index[keep], test.times[keep]
    return tuple(
        drop_short(Sessions.from_events(session, ids[keep], times, vocabulary=vocabulary))
        for vocabulary in (vocabulary_a, vocabulary_b)
    )


def drop_short(sessions: Sessions, min_length: int = 2) -> Sessions:
    lengths = np.diff(sessions.offsets)
    keep = np.repeat(lengths >= min_length, lengths)
    kept_lengths = lengths[lengths >= min_length]
    return replace(
        sessions,
        offsets=np.concatenate([[0], np.cumsum(kept_lengths)]).astype(np.int64),
        items=sessions.items[keep],
        times=sessions.times[keep],
    )


def digest(events: pd.DataFrame) -> str:
    """A short content hash of the events a model saw."""
    h = hashlib.sha256()
    ordered = events.sort_values(["occurred_at", "event_id"])[["session_id", "item_id", "occurred_at"]]
    h.update(pd.util.hash_pandas_object(ordered, index=False).values.tobytes())
    return h.hexdigest()[:16]
