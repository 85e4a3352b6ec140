"""SLIST (Choi et al., WWW 2021): a closed-form linear item-item model of sessions.

Two least-squares views of the training sessions share one item-item matrix ``B``:

- SLIS ("item similarity"): each whole session, its items at once, reconstructs itself;
- SLIT ("item transition"): each prefix of a session, later items weighing more
  (``exp(-distance / train_weight)``), predicts the rest of it, nearer items weighing more.

Rows are L2-normalised and weighted by the session's age (``exp(-age / session_weight_days)``,
recent sessions count more). With ``alpha`` weighing SLIS against SLIT,
``B = (alpha XᵀWX + (1-alpha) SᵀWS + reg I)⁻¹ (alpha XᵀWX + (1-alpha) SᵀWT)``:
one linear solve, no iterations, no sampling. A prefix is scored as ``x B`` with ``x`` its
items decayed by ``exp(-distance / predict_weight)`` from the last one.

The solve is dense in the number of items, so only the ``max_items`` most popular items get a
row (the others are left to the popularity tie-break); the artifact keeps each row's ``keep``
largest weights as CSR arrays, so serving needs numpy only and scores a prefix with one gather.
Defaults: the best of ``kaizen evaluate --tune`` on the RetailRocket week's validation window.
"""

from __future__ import annotations

import numpy as np

from kaizen.models.base import Recommender
from kaizen.models.knn import DAY_S, ranges
from kaizen.models.sessions import Sessions

MAX_LAG = 50  # prefix items further back than this add nothing to a SLIT row (weights ~ exp(-50/tw))


class SLIST(Recommender):
    kind = "slist"
    state_arrays = ("indptr", "indices", "data")

    def __init__(
        self,
        alpha: float = 0.95,
        reg: float = 3.0,
        session_weight_days: float | None = 32.0,
        train_weight: float = 4.0,
        predict_weight: float = 4.0,
        keep: int = 300,
        max_items: int = 5000,
        **params,
    ):
        super().__init__(
            alpha=float(alpha),
            reg=float(reg),
            session_weight_days=float(session_weight_days) if session_weight_days else None,
            train_weight=float(train_weight),
            predict_weight=float(predict_weight),
            keep=int(keep),
            max_items=int(max_items),
            **params,
        )

    def _fit(self, sessions: Sessions) -> None:
        from scipy import linalg, sparse  # training only: the serving env has no scipy

        p = self.params
        n = sessions.n_items
        modelled = np.sort(np.argsort(-self.popularity, kind="stable")[: p["max_items"]])
        column = np.full(n, -1, dtype=np.int64)
        column[modelled] = np.arange(len(modelled))
        m = len(modelled)

        session_of = sessions.session_index
        lengths = np.diff(sessions.offsets)
        position = np.arange(len(sessions.items)) - np.repeat(sessions.offsets[:-1], lengths)
        ends = sessions.times[sessions.offsets[1:] - 1] if sessions.n_sessions else np.zeros(0, np.int64)
        if p["session_weight_days"]:
            age_days = (ends.max(initial=0) - ends) / DAY_S
            session_w = np.exp(-age_days / p["session_weight_days"])
        else:
            session_w = np.ones(sessions.n_sessions)

        def matrix(rows, cols, values, n_rows):
            keep = column[cols] >= 0
            built = sparse.csr_matrix(
                (values[keep], (rows[keep], column[cols[keep]])), shape=(n_rows, m), dtype=np.float64
            )
            built.sum_duplicates()
            norms = np.sqrt(np.asarray(built.multiply(built).sum(axis=1)).ravel())
            return sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ built

        # SLIS: one row per session, its items.
        x = matrix(session_of, sessions.items, np.ones(len(sessions.items)), sessions.n_sessions)
        # SLIT: one row per event at position >= 1 (the prefix before it -> it and what follows).
        rows_in, cols_in, w_in, rows_out, cols_out, w_out = [], [], [], [], [], []
        for lag in range(0, MAX_LAG + 1):
            j = np.arange(lag, len(sessions.items))
            same = session_of[j] == session_of[j - lag]
            later, earlier = j[same], j[same] - lag
            if lag >= 1:  # input: the item ``lag`` back from the row's event
                rows_in.append(later)
                cols_in.append(sessions.items[earlier])
                w_in.append(np.full(len(later), np.exp(-(lag - 1) / p["train_weight"])))
            starts = earlier[position[earlier] >= 1]  # target: the item ``lag`` ahead of the row's event
            rows_out.append(starts)
            cols_out.append(sessions.items[starts + lag])
            w_out.append(np.full(len(starts), np.exp(-lag / p["train_weight"])))
        n_rows = len(sessions.items)
        s_in = matrix(np.concatenate(rows_in), np.concatenate(cols_in), np.concatenate(w_in), n_rows)
        s_out = matrix(np.concatenate(rows_out), np.concatenate(cols_out), np.concatenate(w_out), n_rows)
        event_w = sparse.diags(session_w[session_of])

        # Dense m x m matrices (200 MB each at 5,000 items): built in place, solved in place by
        # Cholesky (the Gram matrix plus reg I is positive definite), so two are alive at a time.
        a = p["alpha"]
        gram = (x.T @ sparse.diags(session_w) @ x).toarray()
        target = (s_in.T @ event_w @ s_out).toarray()
        target *= 1 - a
        target += a * gram
        gram *= a
        gram += (1 - a) * (s_in.T @ event_w @ s_in).toarray()
        gram[np.diag_indices(m)] += p["reg"]
        weights = linalg.solve(gram, target, assume_a="pos", overwrite_a=True, overwrite_b=True) if m else target
        del gram
        self._store(weights, modelled, n)

    def _store(self, weights: np.ndarray, modelled: np.ndarray, n: int, rows_at_once: int = 512) -> None:
        """Each modelled item's ``keep`` largest positive weights, as CSR rows over all ``n`` items;
        ``rows_at_once`` rows at a time, so the partition's index array stays small."""
        keep = min(self.params["keep"], weights.shape[1])
        counts = np.zeros(n, dtype=np.int64)
        indices, data = [], []
        for first in range(0, len(weights), rows_at_once):
            rows = weights[first : first + rows_at_once]
            top = np.argpartition(-rows, keep - 1, axis=1)[:, :keep] if keep else np.zeros((len(rows), 0), int)
            values = np.take_along_axis(rows, top, axis=1)
            positive = values > 0
            counts[modelled[first : first + rows_at_once]] = positive.sum(axis=1)
            indices.append(modelled[top[positive]].astype(np.int32))
            data.append(values[positive].astype(np.float32))
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.indices = np.concatenate(indices) if indices else np.zeros(0, np.int32)
        self.data = np.concatenate(data) if data else np.zeros(0, np.float32)

    def scores(self, prefix: np.ndarray) -> np.ndarray:
        distance = len(prefix) - 1 - np.arange(len(prefix))
        weights = np.exp(-distance / self.params["predict_weight"])
        starts, ends = self.indptr[prefix], self.indptr[prefix + 1]
        gathered = ranges(starts, ends - starts)
        row_weight = np.repeat(weights, ends - starts)
        return np.bincount(
            self.indices[gathered], weights=row_weight * self.data[gathered], minlength=len(self.popularity)
        )
