"""Sessions as flat numpy arrays: the one input every model fits on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Sessions:
    """Click sequences in CSR layout.

    ``items[offsets[s]:offsets[s + 1]]`` are session ``s``'s item indices into
    ``vocabulary`` in time order, with ``times`` (unix seconds) alongside. ``categories``,
    when the events named them, is each vocabulary item's category ("" where unknown).
    """

    vocabulary: np.ndarray  # item ids as strings, index = item index
    offsets: np.ndarray  # int64, len = n_sessions + 1
    items: np.ndarray  # int32 item indices
    times: np.ndarray  # int64 unix seconds
    categories: np.ndarray | None = None  # str per vocabulary item

    @property
    def n_sessions(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_items(self) -> int:
        return len(self.vocabulary)

    @property
    def session_index(self) -> np.ndarray:
        """For every event, the index of its session."""
        return np.repeat(np.arange(self.n_sessions), np.diff(self.offsets))

    def session(self, s: int) -> np.ndarray:
        return self.items[self.offsets[s] : self.offsets[s + 1]]

    def save(self, path: Path) -> Path:
        """The arrays as one ``.npz`` file (numpy only): the test window a gate compares on."""
        np.savez(path, vocabulary=self.vocabulary.astype(str), offsets=self.offsets, items=self.items, times=self.times)
        return path

    @classmethod
    def load(cls, path: Path) -> Sessions:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["vocabulary"], data["offsets"], data["items"], data["times"])

    @classmethod
    def from_events(
        cls, session_ids, item_ids, times, vocabulary: np.ndarray | None = None, categories=None
    ) -> Sessions:
        """Group events into sessions ordered by their first event, events by time.

        With a ``vocabulary`` (a trained model's), events of unknown items are dropped:
        the evaluation protocol's "test items must appear in training". ``categories``
        (str per event, "" where unknown) become each item's category.
        """
        session_ids = np.asarray(session_ids)
        item_ids = np.asarray(item_ids).astype(str)
        times = np.asarray(times, dtype=np.int64)
        if vocabulary is None:
            vocabulary, item_index = np.unique(item_ids, return_inverse=True)
        else:
            order = np.argsort(vocabulary)
            pos = np.searchsorted(vocabulary, item_ids, sorter=order)
            in_range = pos < len(vocabulary)  # past the end: unknown (every item, for an empty vocabulary)
            known = np.zeros(len(item_ids), bool)
            known[in_range] = vocabulary[order[pos[in_range]]] == item_ids[in_range]
            session_ids, times, item_index = session_ids[known], times[known], order[pos[known]]
            categories = None if categories is None else np.asarray(categories)[known]
        _, session_index = np.unique(session_ids, return_inverse=True)
        # Sort events by (session start, session, time): stable, so ties keep input order.
        starts = np.full(session_index.max() + 1 if len(session_index) else 0, np.iinfo(np.int64).max)
        np.minimum.at(starts, session_index, times)
        order = np.lexsort((times, session_index, starts[session_index]))
        session_index = session_index[order]
        change = np.flatnonzero(np.diff(session_index)) + 1
        offsets = np.concatenate([[0], change, [len(order)]]).astype(np.int64) if len(order) else np.zeros(1, np.int64)
        return cls(
            vocabulary=np.asarray(vocabulary).astype(str),
            offsets=offsets,
            items=item_index[order].astype(np.int32),
            times=times[order],
            categories=None if categories is None else _per_item(len(vocabulary), item_index, categories),
        )


def _per_item(n_items: int, item_index: np.ndarray, categories) -> np.ndarray:
    """Each item's category from its events' (the last one named wins), "" where none is."""
    categories = np.asarray(categories).astype(str)
    named = categories != ""
    per_item = np.full(n_items, "", dtype=categories.dtype if len(categories) else "<U1")
    per_item[item_index[named]] = categories[named]
    return per_item
