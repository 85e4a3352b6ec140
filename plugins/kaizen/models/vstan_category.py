"""VSTAN with a category prior: a hybrid of the neighbourhood model and the catalogue.

On a shop's sparse clicks most prefixes have few neighbours: on the RetailRocket week four
predictions in five have fewer than 20 items with a neighbourhood score, and popularity
fills the rest of the list. Most next items, though, share a category with the session's
recent items (82% there; the generated shop's sessions browse within categories too). So
every item gains a content-based prior (a hybrid in Burke's sense, 2002), added to VSTAN's
scores (which are scaled to a maximum of 1):

    category_weight * interest(category of i) * (popularity(i) / max popularity in that category) ** category_popularity

where ``interest`` sums the prefix's items of that category, each decayed by
``exp((j - n + 1) / category_decay)`` from its position j of n, scaled to a maximum of 1.
The catalogue comes with the training sessions (``Sessions.categories``: Feast's
``item_catalog`` point-in-time at the split, or the public data's own column); items
without a category get no prior, and without any category this is VSTAN.

Defaults: VSTAN's, and the prior's best of a small grid on the validation window of the
RetailRocket week (its training part's last 2 days; the test window unseen).
"""

from __future__ import annotations

import numpy as np

from kaizen.models.sessions import Sessions
from kaizen.models.vstan import VSTAN

UNKNOWN = -1  # the category code of an item the catalogue did not name


class CategoryVSTAN(VSTAN):
    kind = "vstan_category"
    state_arrays = (*VSTAN.state_arrays, "item_category")

    def __init__(
        self,
        category_weight: float = 0.1,
        category_decay: float = 0.5,
        category_popularity: float = 0.5,
        **params,
    ):
        super().__init__(
            category_weight=float(category_weight),
            category_decay=float(category_decay),
            category_popularity=float(category_popularity),
            **params,
        )
        self.item_category = np.zeros(0, dtype=np.int32)
        # Derived from item_category and popularity on first use (after fit, after load, and
        # again when training swaps in the feature store's popularity): the category slots
        # (the last one serves UNKNOWN) and each item's within-category popularity factor.
        self._derived: tuple[np.ndarray, int, np.ndarray] | None = None

    def _fit(self, sessions: Sessions) -> None:
        super()._fit(sessions)
        self.item_category = category_codes(sessions)
        self._derived = None

    def within_category(self) -> tuple[int, np.ndarray]:
        """The number of category slots, and each item's popularity relative to its category's
        most popular item, raised to ``category_popularity``."""
        if self._derived is None or self._derived[0] is not self.popularity:
            codes = self.item_category
            known = codes != UNKNOWN
            top = np.zeros(codes.max(initial=UNKNOWN) + 2)
            np.maximum.at(top, codes[known], self.popularity[known])
            relative = np.where(known, self.popularity / np.maximum(top[codes], 1e-12), 0.0)
            self._derived = (self.popularity, len(top), relative ** self.params["category_popularity"])
        return self._derived[1], self._derived[2]

    def scores(self, prefix: np.ndarray) -> np.ndarray:
        scores = super().scores(prefix)
        weight = self.params["category_weight"]
        codes = self.item_category[prefix] if len(prefix) else self.item_category[:0]
        known = codes != UNKNOWN
        if not weight or not known.any():
            return scores
        slots, within = self.within_category()
        positions = np.arange(len(prefix))[known]
        recency = np.exp((positions - len(prefix) + 1) / self.params["category_decay"])
        interest = np.bincount(codes[known], weights=recency, minlength=slots)  # UNKNOWN's slot stays 0
        return scores + weight * (interest / interest.max())[self.item_category] * within


def category_codes(sessions: Sessions) -> np.ndarray:
    """Each vocabulary item's category as a small integer, ``UNKNOWN`` where none is known."""
    if sessions.categories is None:
        return np.full(sessions.n_items, UNKNOWN, dtype=np.int32)
    names, codes = np.unique(sessions.categories.astype(str), return_inverse=True)
    codes = codes.astype(np.int32)
    if len(names) and names[0] == "":  # "" (no category) sorts first
        codes -= 1
    return codes.reshape(-1)
