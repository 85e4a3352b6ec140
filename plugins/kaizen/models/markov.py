"""First-order Markov chain: what directly followed the session's last item, by count.

The transition a -> b gains 1 every time b immediately follows a in a training session
(repeats of the same item count too: a -> a). The session's last item picks the row.
``pruning`` > 0 keeps only that many most frequent successors per item, as session-rec's
MarkovModel does; 0 keeps them all.
"""

from __future__ import annotations

import numpy as np

from kaizen.models.rules import LastItemRules
from kaizen.models.sessions import Sessions


class Markov(LastItemRules):
    kind = "markov"

    def __init__(self, pruning: int = 0, **params):
        super().__init__(pruning=int(pruning), **params)

    def _fit(self, sessions: Sessions) -> None:
        session_of = sessions.session_index
        same = np.flatnonzero(session_of[1:] == session_of[:-1])
        n = sessions.n_items
        # Count (from, to) pairs: one integer key per pair, sorted, so rows come out in CSR order.
        keys, counts = np.unique(
            sessions.items[same].astype(np.int64) * n + sessions.items[same + 1], return_counts=True
        )
        rows, cols, data = keys // n, keys % n, counts.astype(np.float64)
        if self.params["pruning"] > 0:
            # Within each row, rank by count (descending), ties by item index; keep the first ``pruning``.
            order = np.lexsort((cols, -data, rows))
            rows, cols, data = rows[order], cols[order], data[order]
            starts = np.searchsorted(rows, rows, side="left")
            keep = np.arange(len(rows)) - starts < self.params["pruning"]
            rows, cols, data = rows[keep], cols[keep], data[keep]
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int64)
        self.indices = cols.astype(np.int32)
        self.data = data
