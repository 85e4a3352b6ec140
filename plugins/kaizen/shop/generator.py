"""A synthetic shop of any size, with the structure real click logs have.

- Zipf-like item popularity over categories, prices per category;
- sequential patterns: each item has a few likely successors in its category, so a
  sequence-aware model has something to learn that popularity cannot;
- view -> add-to-cart -> purchase funnels;
- daily seasonality (evening peak) and new items appearing over the period;
- optional drift from a given day: popularity shifts and a new category arrives.

Deterministic under a seed; generated in chunks of sessions, so 50M events stream into
PostgreSQL (``kaizen shop generate``) without holding them all in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 7, 7, 6, 6, 6, 7, 9, 11, 12, 11, 8, 4], float)
SUCCESSORS = 3


@dataclass(frozen=True)
class ShopSpec:
    events: int
    seed: int = 0
    days: int = 30
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    items: int = 0  # 0: about one item per 50 events, at least 1,000
    categories: int = 50
    mean_session_views: float = 5.0
    drift_day: int | None = None  # from this day on, popularity shifts and a new category arrives
    p_follow: float = 0.55  # next view is one of the current item's successors
    p_same_category: float = 0.25  # ... else a popular item of the same category
    p_cart: float = 0.08
    p_purchase: float = 0.35  # of carted items
    chunk_sessions: int = 200_000

    @property
    def n_items(self) -> int:
        return self.items or max(1_000, self.events // 50)


class Catalogue:
    """Items with categories, prices, first-seen days, popularity and successors."""

    def __init__(self, spec: ShopSpec):
        rng = np.random.default_rng([spec.seed, 0])
        n = spec.n_items
        self.ids = np.char.add("i", np.arange(n).astype(str))
        category_weights = 1.0 / np.arange(1, spec.categories + 1) ** 0.8
        self.category = rng.choice(spec.categories, size=n, p=category_weights / category_weights.sum())
        self.price = np.round(rng.lognormal(3.0 + (self.category % 5) * 0.3, 0.5), 2)
        # 80% of items exist from day 0, the rest appear over the period.
        self.first_day = np.where(rng.random(n) < 0.8, 0, rng.integers(0, spec.days, n))
        self.available = rng.random(n) > 0.03
        self.popularity = self._zipf(rng, n)
        self.drift_popularity = None
        if spec.drift_day is not None:
            # A new category whose items arrive on the drift day and sell well, and a
            # shuffled popularity for everything else.
            new = rng.choice(n, size=max(1, n // 50), replace=False)
            self.category[new] = spec.categories
            self.first_day[new] = spec.drift_day
            self.drift_popularity = self._zipf(rng, n)
            self.drift_popularity[new] = self.drift_popularity.max()
        order = np.argsort(self.category, kind="stable")
        self.by_category = order
        self.category_start = np.searchsorted(self.category[order], np.arange(spec.categories + 2))
        self.successors = self._successors(rng)

    @staticmethod
    def _zipf(rng, n: int) -> np.ndarray:
        weights = 1.0 / np.arange(1, n + 1) ** 1.1
        return weights[rng.permutation(n)]

    def _successors(self, rng) -> np.ndarray:
        """Each item's likely next items: random members of its own category."""
        lo = self.category_start[self.category]
        hi = self.category_start[self.category + 1]
        picks = lo[:, None] + (rng.random((len(self.ids), SUCCESSORS)) * (hi - lo)[:, None]).astype(np.int64)
        return self.by_category[picks]

    def frame(self, spec: ShopSpec) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "item_id": self.ids,
                "category_id": np.char.add("c", self.category.astype(str)),
                "price": self.price,
                "available": self.available,
                "updated_at": spec.start + pd.to_timedelta(self.first_day, unit="D"),
            }
        )


def _sample(rng, weights: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(weights)
    return np.searchsorted(cdf, rng.random(size) * cdf[-1])


def _sessions(spec: ShopSpec, cat: Catalogue, chunk: int, n_sessions: int) -> pd.DataFrame:
    rng = np.random.default_rng([spec.seed, 1, chunk])
    lengths = np.minimum(rng.geometric(1.0 / spec.mean_session_views, n_sessions), 60)
    day = rng.integers(0, spec.days, n_sessions)
    seconds = _sample(rng, HOUR_WEIGHTS, n_sessions) * 3600 + rng.integers(0, 3600, n_sessions)
    popularity = cat.popularity
    if cat.drift_popularity is not None:
        drifted = day >= spec.drift_day
    else:
        drifted = np.zeros(n_sessions, bool)

    items = np.empty((n_sessions, lengths.max()), dtype=np.int64)
    current = np.where(
        drifted,
        _sample(rng, cat.drift_popularity if cat.drift_popularity is not None else popularity, n_sessions),
        _sample(rng, popularity, n_sessions),
    )
    items[:, 0] = current
    for t in range(1, lengths.max()):
        u = rng.random(n_sessions)
        follow = cat.successors[current, rng.integers(0, SUCCESSORS, n_sessions)]
        lo, hi = cat.category_start[cat.category[current]], cat.category_start[cat.category[current] + 1]
        same = cat.by_category[lo + (rng.random(n_sessions) ** 2 * (hi - lo)).astype(np.int64)]
        anywhere = _sample(rng, popularity, n_sessions)
        current = np.where(
            u < spec.p_follow, follow, np.where(u < spec.p_follow + spec.p_same_category, same, anywhere)
        )
        items[:, t] = current
    # Items not yet in the catalogue on the session's day are swapped for popular ones.
    mask = np.arange(items.shape[1]) < lengths[:, None]
    session_of = np.repeat(np.arange(n_sessions), lengths)
    views = items[mask]
    unborn = cat.first_day[views] > day[session_of]
    views[unborn] = _sample(rng, popularity * (cat.first_day == 0), int(unborn.sum()))

    # Funnel: some views are followed by an add-to-cart, some carts by a purchase.
    carted = rng.random(len(views)) < spec.p_cart
    bought = carted & (rng.random(len(views)) < spec.p_purchase)
    repeat = 1 + carted + bought
    item = np.repeat(views, repeat)
    session = np.repeat(session_of, repeat)
    step = _funnel_steps(repeat)
    event_type = np.array(["view", "addtocart", "transaction"])[step]
    # Seconds since the session began: a running sum of gaps, restarted at each session.
    gaps = rng.exponential(45.0, len(item)).astype(np.int64) + 1
    counts = np.bincount(session, minlength=n_sessions)
    elapsed = np.cumsum(gaps)
    offset = elapsed - np.repeat(elapsed[np.cumsum(counts) - counts] - gaps[np.cumsum(counts) - counts], counts)
    occurred = (
        pd.Timestamp(spec.start)
        + pd.to_timedelta(day[session], unit="D")
        + pd.to_timedelta(seconds[session] + offset, unit="s")
    )
    session_ids = np.char.add(f"g{chunk}-", session.astype(str))
    return pd.DataFrame(
        {
            "session_id": session_ids,
            "visitor_id": np.char.add("v", (rng.integers(0, max(1, n_sessions // 2), n_sessions)[session]).astype(str)),
            "item_id": cat.ids[item],
            "event_type": event_type,
            "occurred_at": occurred,
            "category_id": None,
        }
    )


def _funnel_steps(repeat: np.ndarray) -> np.ndarray:
    """0, 1, 2 positions within each view's funnel expansion (view, cart, purchase)."""
    starts = np.repeat(np.cumsum(repeat) - repeat, repeat)
    return np.arange(int(repeat.sum())) - starts


def generate(spec: ShopSpec) -> tuple[pd.DataFrame, Iterator[pd.DataFrame]]:
    """The catalogue, and the events in chunks (about ``spec.events`` in all)."""
    catalogue = Catalogue(spec)
    events_per_session = spec.mean_session_views * (1 + spec.p_cart * (1 + spec.p_purchase))
    total_sessions = max(1, round(spec.events / events_per_session))

    def chunks() -> Iterator[pd.DataFrame]:
        done, chunk = 0, 0
        while done < total_sessions:
            n = min(spec.chunk_sessions, total_sessions - done)
            yield _sessions(spec, catalogue, chunk, n)
            done, chunk = done + n, chunk + 1

    return catalogue.frame(spec), chunks()
