"""Sequential rules (Ludewig and Jannach 2018): what followed the last item, nearer is stronger.

For every pair of items (a, b) where b follows a within ``steps`` positions of a session,
the rule a -> b gains 1/distance. The session's last item picks the row of rules.
"""

from __future__ import annotations

import numpy as np

from kaizen.models.rules import LastItemRules
from kaizen.models.sessions import Sessions


class SequentialRules(LastItemRules):
    kind = "sr"

    def __init__(self, steps: int = 10, **params):
        super().__init__(steps=int(steps), **params)

    def _fit(self, sessions: Sessions) -> None:
        from scipy.sparse import coo_matrix  # training only: the serving env has no scipy

        session_of = sessions.session_index
        rows, cols, weights = [], [], []
        for distance in range(1, self.params["steps"] + 1):
            same = np.flatnonzero(session_of[distance:] == session_of[:-distance])
            rows.append(sessions.items[same])
            cols.append(sessions.items[same + distance])
            weights.append(np.full(len(same), 1.0 / distance))
        n = sessions.n_items
        rules = coo_matrix(
            (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        ).tocsr()
        rules.sum_duplicates()
        self.indptr, self.indices, self.data = rules.indptr.astype(np.int64), rules.indices, rules.data
