"""Recommendation quality and training cost.

``run()`` returns a flat dict:

- ``rr_hr20_<kind>``, ``rr_mrr20_<kind>``, ``rr_train_s_<kind>``, ``rr_eval_ms_<kind>`` (evaluation
  time per prediction: scoring plus ranking)
  for every registered model on the RetailRocket week under session-rec's protocol
  (1,387 predictions; seen items not excluded), and the same for ``champion``;
- ``train_s_250k``, ``train_s_1m``: the champion's training time on about 250k and 1M
  synthetic view events, ``ratio_train_1m_to_250k`` (linear cost: about 4);
- ``score_ms_p50_1m``, ``score_ms_p99_1m``: the champion's scoring time per prefix when
  trained on the 1M events.

Nothing is written to disk. ``python -m bench.quality`` prints the dict as JSON.
"""

from __future__ import annotations

import json
import time

import numpy as np

from kaizen.config import PROJECT_DIR
from kaizen.models import CHAMPION, MODELS, Sessions
from kaizen.shop.loaders import read_retailrocket
from kaizen.training.evaluation import evaluate
from kaizen.training.protocol import n_predictions, session_rec_split

RETAILROCKET = PROJECT_DIR / "data" / "retailrocket-week" / "events.tsv"


def synthetic_sessions(n_events: int, seed: int = 7) -> Sessions:
    """About ``n_events`` view events with Zipf item popularity and sequential structure.

    Sessions last 1 + Geometric(0.3) events. Each next item repeats the previous one
    (30 %), is one of the previous item's three fixed successors (40 %), or is a fresh
    draw from the Zipf(1.1) popularity (30 %). Sessions start uniformly over 30 days,
    events 10 to 120 s apart.
    """
    rng = np.random.default_rng(seed)
    n_items = max(1000, n_events // 20)
    weights = 1.0 / np.arange(1, n_items + 1) ** 1.1
    cdf = np.cumsum(weights) / weights.sum()
    by_rank = rng.permutation(n_items)

    def zipf(n):
        return by_rank[np.minimum(np.searchsorted(cdf, rng.random(n)), n_items - 1)]

    successors = zipf(3 * n_items).reshape(n_items, 3)
    lengths = 1 + rng.geometric(0.3, size=int(0.3 * n_events) + 1)  # mean 4.3: enough
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_events) + 1]
    n_sessions = len(lengths)
    items = np.zeros((n_sessions, lengths.max()), dtype=np.int64)
    items[:, 0] = zipf(n_sessions)
    for position in range(1, lengths.max()):  # one vectorised step per position, not per event
        alive = np.flatnonzero(lengths > position)
        previous = items[alive, position - 1]
        choice = rng.random(len(alive))
        nxt = zipf(len(alive))
        follow = choice < 0.7
        nxt[follow] = successors[previous[follow], rng.integers(0, 3, size=int(follow.sum()))]
        repeat = choice < 0.3
        nxt[repeat] = previous[repeat]
        items[alive, position] = nxt
    mask = np.arange(items.shape[1]) < lengths[:, None]
    session_ids = np.repeat(np.arange(n_sessions), lengths)
    starts = rng.integers(0, 30 * 86400, size=n_sessions) + 1_700_000_000
    gaps = rng.integers(10, 120, size=items.shape)
    gaps[:, 0] = 0
    times = (starts[:, None] + np.cumsum(gaps, axis=1))[mask]
    return Sessions.from_events(session_ids, items[mask], times)


def _fit_seconds(kind: str, sessions: Sessions, repeats: int = 3) -> tuple[float, object]:
    best, model = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        model = MODELS[kind]().fit(sessions)
        best = min(best, time.perf_counter() - started)
    return best, model


def retailrocket() -> dict[str, float]:
    split = session_rec_split(read_retailrocket(RETAILROCKET))
    results: dict[str, float] = {"rr_predictions": float(n_predictions(split))}
    for kind in sorted(MODELS):
        fit_s, model = _fit_seconds(kind, split.train)
        started = time.perf_counter()
        metrics = evaluate(model, split.test)
        eval_ms = (time.perf_counter() - started) / max(metrics["predictions"], 1) * 1e3
        results[f"rr_hr20_{kind}"] = metrics["hr_20"]
        results[f"rr_mrr20_{kind}"] = metrics["mrr_20"]
        results[f"rr_train_s_{kind}"] = fit_s
        results[f"rr_eval_ms_{kind}"] = eval_ms
    for key in ("hr20", "mrr20", "train_s", "eval_ms"):
        results[f"rr_{key}_champion"] = results[f"rr_{key}_{CHAMPION}"]
    return results


def training_cost() -> dict[str, float]:
    small, large = synthetic_sessions(250_000), synthetic_sessions(1_000_000)
    small_s, _ = _fit_seconds(CHAMPION, small)
    large_s, model = _fit_seconds(CHAMPION, large)
    rng = np.random.default_rng(11)
    latencies = []
    for s in rng.choice(large.n_sessions, size=300, replace=False):
        prefix = large.session(s)[: rng.integers(1, 6)]
        started = time.perf_counter()
        model.ranking_scores(prefix)
        latencies.append((time.perf_counter() - started) * 1e3)
    return {
        "events_250k": float(len(small.items)),
        "events_1m": float(len(large.items)),
        "train_s_250k": small_s,
        "train_s_1m": large_s,
        "ratio_train_1m_to_250k": large_s / small_s,
        "score_ms_p50_1m": float(np.percentile(latencies, 50)),
        "score_ms_p99_1m": float(np.percentile(latencies, 99)),
    }


def run() -> dict[str, float]:
    return {**retailrocket(), **training_cost()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, sort_keys=True))
