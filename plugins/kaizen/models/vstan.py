"""VSTAN (Ludewig et al. 2021): STAN with V-SKNN's extras.

session-rec's ``VSKNN_STAN``: STAN's three decays (``lambda_spw``, ``lambda_snh``,
``lambda_inh``), plus a neighbour decay ``exp((i - n) / lambda_ipw)`` from the last prefix
position i that matched the neighbour, and the IDF boost ``1 + idf * lambda_idf`` of
candidate items. ``similarity`` is ``cosine`` (as the reference) or ``vec``. A lambda of
None (or 0) switches its factor off.

Defaults: the best of a small grid on the RetailRocket week (session-rec protocol), best
on a validation split (the training part's last 2 days) too. This is the champion.
"""

from __future__ import annotations

import numpy as np

from kaizen.models.knn import SessionKNN
from kaizen.models.stan import _opt


class VSTAN(SessionKNN):
    kind = "vstan"

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 2500,
        similarity: str = "cosine",
        lambda_spw: float | None = 4.0,
        lambda_snh: float | None = 20.0,
        lambda_inh: float | None = 2.05,
        lambda_ipw: float | None = 8.0,
        lambda_idf: float | None = 1.0,
        **params,
    ):
        super().__init__(
            k=int(k),
            sample_size=int(sample_size),
            similarity=similarity,
            lambda_spw=_opt(lambda_spw),
            lambda_snh=_opt(lambda_snh),
            lambda_inh=_opt(lambda_inh),
            lambda_ipw=_opt(lambda_ipw),
            lambda_idf=_opt(lambda_idf),
            **params,
        )
        self.similarity = similarity
        self.lambda_snh = self.params["lambda_snh"]
        self.lambda_inh = self.params["lambda_inh"]
        self.lambda_idf = self.params["lambda_idf"]

    def prefix_weights(self, positions, length):
        spw = self.params["lambda_spw"]
        return np.exp((positions - length) / spw) if spw else np.ones(len(positions))

    def neighbour_decay(self, matched, length):
        ipw = self.params["lambda_ipw"]
        return np.exp((matched - length) / ipw) if ipw else None
