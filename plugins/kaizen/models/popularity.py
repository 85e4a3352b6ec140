"""Most-popular items: the baseline every shop starts with."""

from __future__ import annotations

import numpy as np

from kaizen.models.base import Recommender
from kaizen.models.sessions import Sessions


class Popularity(Recommender):
    kind = "popularity"

    def _fit(self, sessions: Sessions) -> None:
        pass  # the base class counts popularity for every model

    def scores(self, prefix: np.ndarray) -> np.ndarray:
        return self.popularity.copy()
