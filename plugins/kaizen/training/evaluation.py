"""Next-item evaluation as the session-based recommendation literature does it (session-rec).

Every position of every test session predicts the item that follows it; a hit at K means
the true next item ranks in the top K. Metrics are averaged over all predictions.
"""

from __future__ import annotations

import numpy as np

from kaizen.models import Recommender, Sessions

CUTOFFS = (5, 10, 20)


def target_ranks(model: Recommender, test: Sessions) -> np.ndarray:
    """The 0-based rank of each true next item among all items' scores."""
    ranks = []
    for s in range(test.n_sessions):
        session = test.session(s)
        for position in range(1, len(session)):
            scores = model.ranking_scores(session[:position])
            ranks.append(int(np.count_nonzero(scores > scores[session[position]])))
    return np.asarray(ranks, dtype=np.int64)


def metrics_from_ranks(ranks: np.ndarray, cutoffs=CUTOFFS) -> dict[str, float]:
    metrics: dict[str, float] = {"predictions": float(len(ranks))}
    for k in cutoffs:
        hit = ranks < k
        metrics[f"hr_{k}"] = float(hit.mean()) if len(ranks) else 0.0
        metrics[f"mrr_{k}"] = float(np.where(hit, 1.0 / (ranks + 1), 0.0).mean()) if len(ranks) else 0.0
    return metrics


def evaluate(model: Recommender, test: Sessions, cutoffs=CUTOFFS) -> dict[str, float]:
    return metrics_from_ranks(target_ranks(model, test), cutoffs)
