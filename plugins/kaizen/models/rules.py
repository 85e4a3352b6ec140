"""Item-to-item rules scored by the session's last item: the shared half of Markov and SR."""

from __future__ import annotations

import numpy as np

from kaizen.models.base import Recommender


class LastItemRules(Recommender):
    """Fitted state is a CSR matrix (``indptr``, ``indices``, ``data``) of item -> next-item
    weights; a prefix is scored by its last item's row."""

    state_arrays = ("indptr", "indices", "data")

    def scores(self, prefix: np.ndarray) -> np.ndarray:
        scores = np.zeros(len(self.vocabulary))
        last = prefix[-1]
        start, end = self.indptr[last], self.indptr[last + 1]
        scores[self.indices[start:end]] = self.data[start:end]
        return scores
