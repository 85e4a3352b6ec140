"""Drift: has the shop's traffic moved away from what the served model learnt from?

Each statistic is an effect size with a threshold (settings ``KAIZEN_DRIFT_*``), not a
p-value: with the hundreds of thousands of events a day brings, every test rejects on
differences nobody cares about, while a distance means the same at any volume. scipy
computes them:

- ``item_popularity``: Jensen-Shannon distance of views over the reference's 100 most viewed
  items (plus one bucket for the rest): the head of the shop changed;
- ``category_mix``: Jensen-Shannon distance of views over categories (a new one included);
- ``session_length``: Kolmogorov-Smirnov statistic of views per session;
- ``new_items_share``: share of recent views of items the reference never saw;
- ``served_items`` (prediction drift): Jensen-Shannon distance of the recommended items over
  the reference's 100 most recommended (plus the rest), when both windows have answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

from kaizen.config import Settings

HEAD = 100
MIN_VIEWS = 500  # below, a day's statistics are noise: no verdict
UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class DriftCheck:
    statistic: str
    value: float
    threshold: float

    @property
    def drifted(self) -> bool:
        return self.value > self.threshold

    def describe(self) -> str:
        return f"{self.statistic} {self.value:.3f} {'>' if self.drifted else '<='} {self.threshold:g}"


def thresholds(settings: Settings) -> dict[str, float]:
    return {
        "item_popularity": settings.drift_popularity_js,
        "category_mix": settings.drift_category_js,
        "session_length": settings.drift_session_length_ks,
        "new_items_share": settings.drift_new_items_share,
        "served_items": settings.drift_served_js,
    }


def data_drift(
    reference: pd.DataFrame, current: pd.DataFrame, categories: pd.Series, limits: dict[str, float]
) -> list[DriftCheck]:
    """Checks of the view events ``current`` against ``reference``; ``categories`` maps item
    ids to category ids. Empty when either window has fewer than ``MIN_VIEWS`` views."""
    ref_views, cur_views = _views(reference), _views(current)
    if len(ref_views) < MIN_VIEWS or len(cur_views) < MIN_VIEWS:
        return []
    ref_items, cur_items = ref_views["item_id"], cur_views["item_id"]
    ref_lengths = ref_views.groupby("session_id").size().to_numpy()
    cur_lengths = cur_views.groupby("session_id").size().to_numpy()
    values = {
        "item_popularity": head_distance(ref_items, cur_items),
        "category_mix": share_distance(
            ref_items.map(categories).fillna(UNKNOWN), cur_items.map(categories).fillna(UNKNOWN)
        ),
        "session_length": float(ks_2samp(ref_lengths, cur_lengths).statistic),
        "new_items_share": float((~cur_items.isin(set(ref_items))).mean()),
    }
    return [DriftCheck(name, value, limits[name]) for name, value in values.items()]


def prediction_drift(
    reference: Iterable[list[str]], current: Iterable[list[str]], limits: dict[str, float]
) -> list[DriftCheck]:
    """How differently the model recommends now: recommended lists of two windows."""
    ref = pd.Series([item for top in reference for item in top], dtype=object)
    cur = pd.Series([item for top in current for item in top], dtype=object)
    if len(ref) < MIN_VIEWS or len(cur) < MIN_VIEWS:
        return []
    return [DriftCheck("served_items", head_distance(ref, cur), limits["served_items"])]


def head_distance(reference: pd.Series, current: pd.Series) -> float:
    """Jensen-Shannon distance (base 2, 0..1) over the reference's ``HEAD`` most frequent values
    and one bucket for all others."""
    head = reference.value_counts().index[:HEAD]
    return _js(_shares(reference, head), _shares(current, head))


def share_distance(reference: pd.Series, current: pd.Series) -> float:
    """Jensen-Shannon distance (base 2, 0..1) of two categorical distributions."""
    ref, cur = Counter(reference), Counter(current)
    keys = sorted(set(ref) | set(cur))
    return _js(np.array([ref[k] for k in keys], float), np.array([cur[k] for k in keys], float))


def _views(events: pd.DataFrame) -> pd.DataFrame:
    return events.loc[events["event_type"] == "view", ["session_id", "item_id"]]


def _shares(values: pd.Series, head: pd.Index) -> np.ndarray:
    counts = values.value_counts().reindex(head, fill_value=0).to_numpy(float)
    return np.append(counts, len(values) - counts.sum())


def _js(p: np.ndarray, q: np.ndarray) -> float:
    return float(jensenshannon(p / p.sum(), q / q.sum(), base=2))
