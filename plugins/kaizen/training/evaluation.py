"""Next-item evaluation as the session-based recommendation literature does it (session-rec).

Every position of every test session predicts the item that follows it; a hit at K means
the true next item ranks in the top K. Metrics are averaged over all predictions.

``evaluate`` reports, for every cutoff K:

- ``hr_K``, ``mrr_K``, ``ndcg_K``: hit rate, reciprocal rank and NDCG (one relevant item:
  ``1 / log2(rank + 2)``) of the true next item, 0 beyond K;
- ``new_hr_K``, ``new_mrr_K``, ``new_ndcg_K``: the same over the "new" targets only, next
  items not already in the prefix (``new_predictions`` of them);
- ``coverage_K``: the fraction of the model's vocabulary that appears in any top-K list;
- ``popularity_K``: session-rec's Popularity@K, the mean over predictions of the mean
  popularity of the top-K items, normalised by the most popular item's; popularity is the
  model's own (training counts, or the 7-day views at the split that ``train_recommender``
  gives it from Feast).
"""

from __future__ import annotations

import numpy as np

from kaizen.models import Recommender, Sessions

CUTOFFS = (5, 10, 20)


def predictions(model: Recommender, test: Sessions, depth: int = 0):
    """Rank of each true next item, whether it is new to its prefix, and the top-``depth`` lists.

    Ranks are 0-based: how many items score strictly higher than the target. Top lists
    order by score, ties by item index (as ``Recommender.recommend``).
    """
    ranks, new, tops = [], [], []
    n_items = len(model.vocabulary)
    depth = min(depth, n_items)
    for s in range(test.n_sessions):
        session = test.session(s)
        for position in range(1, len(session)):
            prefix, target = session[:position], session[position]
            scores = model.ranking_scores(prefix)
            ranks.append(int(np.count_nonzero(scores > scores[target])))
            new.append(not np.any(prefix == target))
            if depth:
                top = np.argpartition(-scores, depth - 1)[:depth] if depth < n_items else np.arange(n_items)
                tops.append(top[np.lexsort((top, -scores[top]))])
    tops = np.asarray(tops, dtype=np.int64).reshape(len(ranks), depth)
    return np.asarray(ranks, dtype=np.int64), np.asarray(new, dtype=bool), tops


def target_ranks(model: Recommender, test: Sessions) -> np.ndarray:
    """The 0-based rank of each true next item among all items' scores."""
    return predictions(model, test)[0]


def metrics_from_ranks(ranks: np.ndarray, cutoffs=CUTOFFS, prefix: str = "") -> dict[str, float]:
    ranks = np.asarray(ranks)
    metrics: dict[str, float] = {f"{prefix}predictions": float(len(ranks))}
    for k in cutoffs:
        hit = ranks < k
        n = len(ranks)
        metrics[f"{prefix}hr_{k}"] = float(hit.mean()) if n else 0.0
        metrics[f"{prefix}mrr_{k}"] = float(np.where(hit, 1.0 / (ranks + 1), 0.0).mean()) if n else 0.0
        metrics[f"{prefix}ndcg_{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2), 0.0).mean()) if n else 0.0
    return metrics


def list_metrics(tops: np.ndarray, popularity: np.ndarray, cutoffs=CUTOFFS) -> dict[str, float]:
    """Coverage@K and Popularity@K of top lists (rows: predictions, best first)."""
    metrics: dict[str, float] = {}
    n_items = len(popularity)
    normalised = popularity / popularity.max() if n_items and popularity.max() > 0 else np.zeros(n_items)
    for k in cutoffs:
        top = tops[:, :k]
        metrics[f"coverage_{k}"] = float(len(np.unique(top)) / n_items) if n_items and top.size else 0.0
        metrics[f"popularity_{k}"] = float(normalised[top].mean(axis=1).mean()) if top.size else 0.0
    return metrics


def evaluate(model: Recommender, test: Sessions, cutoffs=CUTOFFS) -> dict[str, float]:
    return evaluate_with_ranks(model, test, cutoffs)[0]


def evaluate_with_ranks(model: Recommender, test: Sessions, cutoffs=CUTOFFS) -> tuple[dict[str, float], np.ndarray]:
    """``evaluate``'s metrics, and the target ranks they were computed from (for paired comparisons)."""
    ranks, new, tops = predictions(model, test, depth=max(cutoffs))
    metrics = {
        **metrics_from_ranks(ranks, cutoffs),
        **metrics_from_ranks(ranks[new], cutoffs, prefix="new_"),
        **list_metrics(tops, model.popularity, cutoffs),
    }
    return metrics, ranks


def per_prediction(ranks: np.ndarray, metric: str) -> np.ndarray:
    """Each prediction's share of a metric (``mrr_20``, ``hr_20``, ``ndcg_20``): their mean is the metric."""
    kind, k = metric.rsplit("_", 1)
    hit = ranks < int(k)
    values = {"hr": np.ones(len(ranks)), "mrr": 1.0 / (ranks + 1), "ndcg": 1.0 / np.log2(ranks + 2)}[kind]
    return np.where(hit, values, 0.0)
