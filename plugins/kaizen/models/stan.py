"""STAN (Garg et al. 2019): Sequence and Time Aware Neighbourhood.

session-rec's ``STAN``: cosine similarity where a prefix item at (last) position i of n
weighs ``exp((i - n) / lambda_spw)``; a neighbour ending t seconds before the newest
candidate is decayed by ``exp(-t / lambda_snh days)``; a neighbour's item at position j
gains ``exp(-|j - j*| / lambda_inh)``, j* being the neighbour's last position holding a
prefix item. A lambda of None (or 0) switches its factor off.

Defaults: the best of a small grid on the RetailRocket week (session-rec protocol); the
paper's were lambda_spw 1.02, lambda_snh 5, lambda_inh 2.05.
"""

from __future__ import annotations

import numpy as np

from kaizen.models.knn import SessionKNN


def _opt(value):
    return None if value in (None, 0) else float(value)


class STAN(SessionKNN):
    kind = "stan"

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 2500,
        lambda_spw: float | None = 3.0,
        lambda_snh: float | None = 20.0,
        lambda_inh: float | None = 2.05,
        **params,
    ):
        super().__init__(
            k=int(k),
            sample_size=int(sample_size),
            lambda_spw=_opt(lambda_spw),
            lambda_snh=_opt(lambda_snh),
            lambda_inh=_opt(lambda_inh),
            **params,
        )
        self.similarity = "cosine"
        self.lambda_snh = self.params["lambda_snh"]
        self.lambda_inh = self.params["lambda_inh"]

    def prefix_weights(self, positions, length):
        spw = self.params["lambda_spw"]
        return np.exp((positions - length) / spw) if spw else np.ones(len(positions))
