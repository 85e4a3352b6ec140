"""V-SKNN (Ludewig and Jannach 2018): session kNN with position weights ("vector" SKNN).

session-rec's ``VMContextKNN``: a prefix item at (last) position i of n weighs
``weighting(i, n)`` in the similarity (``vec``: the weighted overlap over the number of
distinct prefix items); a neighbour's vote is divided by ``weighting_score`` of how many
steps back the prefix last matched it; ``idf_weighting`` boosts rare candidate items.

Defaults: the best of a small grid on the RetailRocket week (session-rec protocol).
``linear`` is ``1 - 0.1 * (n - i)`` floored at 0 (session-rec's zeroes positions past
the 10th instead, which only differs for prefixes longer than 10).
"""

from __future__ import annotations

import numpy as np

from kaizen.models.knn import SessionKNN

POSITION_WEIGHTS = {
    "same": lambda i, n: np.ones(len(i)),
    "div": lambda i, n: i / n,
    "linear": lambda i, n: np.maximum(1.0 - 0.1 * (n - i), 0.0),
    "log": lambda i, n: 1.0 / np.log10(n - i + 1.7),
    "quadratic": lambda i, n: (i / n) ** 2,
}
STEP_DECAYS = {
    "same": lambda step: np.ones(len(step)),
    "div": lambda step: 1.0 / step,
    "linear": lambda step: np.maximum(1.0 - 0.1 * step, 0.0),
    "log": lambda step: 1.0 / np.log10(step + 1.7),
    "quadratic": lambda step: 1.0 / (step * step),
}


class VSKNN(SessionKNN):
    kind = "vsknn"

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 1000,
        similarity: str = "vec",
        weighting: str = "linear",
        weighting_score: str = "log",
        idf_weighting: float = 1.0,
        **params,
    ):
        if weighting not in POSITION_WEIGHTS or weighting_score not in STEP_DECAYS:
            raise ValueError(f"weighting and weighting_score: one of {', '.join(POSITION_WEIGHTS)}")
        super().__init__(
            k=int(k),
            sample_size=int(sample_size),
            similarity=similarity,
            weighting=weighting,
            weighting_score=weighting_score,
            idf_weighting=float(idf_weighting or 0.0),
            **params,
        )
        self.similarity = similarity
        self.lambda_idf = self.params["idf_weighting"]

    def prefix_weights(self, positions, length):
        return POSITION_WEIGHTS[self.params["weighting"]](positions.astype(np.float64), float(length))

    def neighbour_decay(self, matched, length):
        return STEP_DECAYS[self.params["weighting_score"]]((length - matched + 1).astype(np.float64))
