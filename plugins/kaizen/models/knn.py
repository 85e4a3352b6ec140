"""Session-based nearest neighbours: the index and scoring kernel V-SKNN, STAN and VSTAN share.

Ludewig and Jannach (2018), Garg et al. (2019), Ludewig et al. (2021); the reference
implementations are session-rec's ``algorithms/knn`` (vsknn.py, stan.py, vstan.py). For a
prefix (the current session so far) they all:

1. collect the training sessions that share an item with the prefix and keep the
   ``sample_size`` most recent (by their last event);
2. weigh each by its similarity to the prefix, where every prefix item counts by its
   position (later = heavier), optionally decayed by the neighbour's age;
3. keep the ``k`` most similar; every item of a neighbour gains the neighbour's weight,
   optionally decayed by how recently the prefix matched the neighbour, by the item's
   distance in the neighbour from the matched items, and boosted by the item's IDF.

Fitted state is a handful of flat numpy arrays: sessions renumbered so that a larger
index means a more recent session; a session -> distinct items CSR (with each item's last
1-based position in that session); an item -> sessions inverted index, oldest first;
session end times; item IDF. Scoring one prefix is a few vectorised gathers, one
``np.unique`` over the candidate sessions and two ``bincount``s: no Python loop over
training data, and numpy only.
"""

from __future__ import annotations

import numpy as np

from kaizen.models.base import Recommender
from kaizen.models.sessions import Sessions

DAY_S = 24 * 3600.0


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + n)`` for every (s, n): gathers CSR rows without a loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(np.asarray(starts, dtype=np.int64) - offsets, lengths) + np.arange(total, dtype=np.int64)


class SessionKNN(Recommender):
    """Shared index and kernel; subclasses define the prefix and neighbour weightings."""

    state_arrays = (
        "session_indptr",
        "session_items",
        "session_positions",
        "session_times",
        "item_indptr",
        "item_sessions",
        "idf",
    )

    # -- the parts that differ between V-SKNN, STAN and VSTAN --------------------------

    def prefix_weights(self, positions: np.ndarray, length: int) -> np.ndarray:
        """Weight of each distinct prefix item in the similarity, from its last 1-based position."""
        raise NotImplementedError

    def neighbour_decay(self, matched: np.ndarray, length: int) -> np.ndarray | None:
        """Factor per neighbour from the last prefix position it matched; None for none."""
        return None

    similarity: str = "cosine"
    lambda_snh: float | None = None  # days; neighbour-session recency decay
    lambda_inh: float | None = None  # positions; candidate item's distance from the match
    lambda_idf: float | None = None  # IDF boost of candidate items

    # -- fitting -----------------------------------------------------------------------

    def _fit(self, sessions: Sessions) -> None:
        from scipy.sparse import csr_matrix  # training only: the serving env has no scipy

        n_items = sessions.n_items
        lengths = np.diff(sessions.offsets)
        session_of = sessions.session_index
        positions = np.arange(len(sessions.items), dtype=np.int64) - sessions.offsets[session_of] + 1

        # Distinct (session, item) pairs with the item's last position in the session. Events
        # come grouped by session, so this stable sort only has to order each short session.
        key = session_of * n_items + sessions.items
        order = np.argsort(key, kind="stable")
        key, positions = key[order], positions[order]
        last = np.flatnonzero(np.concatenate([key[1:] != key[:-1], [True]])) if len(key) else np.zeros(0, np.int64)
        pair_item, pair_position = (key[last] % n_items).astype(np.int32), positions[last].astype(np.int32)
        pair_counts = np.bincount(session_of[order][last], minlength=sessions.n_sessions)

        # Renumber the (non-empty) sessions by recency, so a larger index is a more recent session.
        # Events are in time order within a session: the last event is the session's end.
        kept = np.flatnonzero(lengths > 0)
        ends = sessions.times[sessions.offsets[kept + 1] - 1].astype(np.int64)
        recency = np.argsort(ends, kind="stable")  # sessions come ordered by start: nearly sorted
        by_recency, self.session_times = kept[recency], ends[recency]
        pair_starts = np.cumsum(pair_counts) - pair_counts
        rows = ranges(pair_starts[by_recency], pair_counts[by_recency])
        self.session_indptr = np.concatenate([[0], np.cumsum(pair_counts[by_recency])]).astype(np.int64)
        self.session_items = pair_item[rows]
        self.session_positions = pair_position[rows]

        # Inverted index: per item, its sessions from the oldest to the most recent (CSR -> CSC
        # is a linear-time counting sort that keeps row order within each column).
        matrix = csr_matrix(
            (np.ones(len(rows), dtype=np.int8), self.session_items, self.session_indptr),
            shape=(len(by_recency), n_items),
        ).tocsc()
        self.item_indptr = matrix.indptr.astype(np.int64)
        self.item_sessions = matrix.indices.astype(np.int32)

        # session-rec's IDF: log(#sessions / #events of the item).
        n_sessions = max(len(by_recency), 1)
        self.idf = np.where(self.popularity > 0, np.log(n_sessions / np.maximum(self.popularity, 1)), 0.0)

    # -- scoring -----------------------------------------------------------------------

    def neighbours(self, prefix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The k nearest training sessions (recency-ordered ids) and their similarities.

        Also returns the prefix's distinct items and their last 1-based positions.
        """
        p = self.params
        prefix = np.asarray(prefix)
        length = len(prefix)
        # Sessions are short: a dict finds each item's last position faster than np.unique.
        last = {item: position for position, item in enumerate(prefix.tolist(), 1)}
        distinct = np.array(sorted(last), dtype=prefix.dtype)
        last_position = np.array([last[item] for item in distinct.tolist()], dtype=np.int64)
        weights = self.prefix_weights(last_position, length)

        starts, ends = self.item_indptr[distinct], self.item_indptr[distinct + 1]
        sample = int(p["sample_size"])
        if sample > 0:
            # The sample's sessions are each among the ``sample`` most recent of every item they share.
            starts = np.maximum(starts, ends - sample)
        counts = ends - starts
        candidates, inverse = np.unique(self.item_sessions[ranges(starts, counts)], return_inverse=True)
        overlap = np.bincount(inverse.ravel(), weights=np.repeat(weights, counts), minlength=len(candidates))
        if sample > 0 and len(candidates) > sample:
            candidates, overlap = candidates[-sample:], overlap[-sample:]

        if self.similarity == "vec":
            similarity = overlap / len(distinct)
        elif self.similarity == "cosine":
            neighbour_sizes = self.session_indptr[candidates + 1] - self.session_indptr[candidates]
            similarity = overlap / (np.sqrt(np.sum(weights * weights)) * np.sqrt(neighbour_sizes))
        else:
            raise ValueError(f"unknown similarity {self.similarity!r}: vec or cosine")
        if self.lambda_snh:
            # Relative to the newest candidate: the same factor for every neighbour of this prefix
            # as relative to "now", so the ranking is that of session-rec's absolute decay.
            times = self.session_times[candidates].astype(np.float64)
            similarity = similarity * np.exp(-(times.max(initial=0.0) - times) / (self.lambda_snh * DAY_S))

        positive = similarity > 0
        candidates, similarity = candidates[positive], similarity[positive]
        k = int(p["k"])
        if len(candidates) > k:
            # Most similar first; ties go to the more recent session.
            order = np.argsort(-similarity[::-1], kind="stable")[:k]
            chosen = len(candidates) - 1 - order
            candidates, similarity = candidates[chosen], similarity[chosen]
        return candidates, similarity, distinct, last_position

    def scores(self, prefix: np.ndarray) -> np.ndarray:
        n_items = len(self.vocabulary)
        scores = np.zeros(n_items)
        if len(prefix) == 0:
            return scores
        neighbours, similarity, distinct, last_position = self.neighbours(prefix)
        if len(neighbours) == 0:
            return scores
        starts = self.session_indptr[neighbours]
        sizes = self.session_indptr[neighbours + 1] - starts
        entries = ranges(starts, sizes)
        items = self.session_items[entries]
        segments = np.cumsum(sizes) - sizes

        in_prefix = np.zeros(n_items, dtype=np.int64)
        in_prefix[distinct] = last_position
        matched_at = in_prefix[items]  # the entry's last position in the prefix, 0 if absent
        weight = similarity
        decay = self.neighbour_decay(np.maximum.reduceat(matched_at, segments), len(prefix))
        if decay is not None:
            weight = weight * decay
        weight = np.repeat(weight, sizes)
        if self.lambda_inh:
            positions = self.session_positions[entries].astype(np.int64)
            # The last position in the neighbour of any item the prefix holds.
            anchor = np.maximum.reduceat(np.where(matched_at > 0, positions, 0), segments)
            weight = weight * np.exp(-np.abs(positions - np.repeat(anchor, sizes)) / self.lambda_inh)
        if self.lambda_idf:
            weight = weight * (1.0 + self.idf[items] * self.lambda_idf)
        scores += np.bincount(items, weights=weight, minlength=n_items)
        top = scores.max()
        return scores / top if top > 0 else scores
