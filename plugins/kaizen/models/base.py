"""The interface every recommender implements, and its numpy-only artifact format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np

from kaizen.models.sessions import Sessions

ARTIFACT_FILE = "model.npz"


class Recommender:
    """Fit on sessions; score every item for a session prefix.

    Subclasses set ``kind``, implement ``fit`` and ``scores`` and name the numpy arrays
    that make up their fitted state in ``state_arrays``; saving and loading are shared.
    """

    kind: ClassVar[str]
    state_arrays: ClassVar[tuple[str, ...]] = ()
    registry: ClassVar[dict[str, type[Recommender]]] = {}

    def __init__(self, **params):
        self.params = params
        self.vocabulary = np.empty(0, dtype=str)
        self.popularity = np.empty(0, dtype=np.float64)
        self._index: dict[str, int] = {}
        self._tiebreak: np.ndarray | None = None  # depends on popularity alone: computed once

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:  # shared bases without their own kind are not models
            Recommender.registry[cls.kind] = cls

    def fit(self, sessions: Sessions) -> Recommender:
        self.vocabulary = sessions.vocabulary
        self.popularity = np.bincount(sessions.items, minlength=sessions.n_items).astype(np.float64)
        self._index, self._tiebreak = {}, None
        self._fit(sessions)
        return self

    def _fit(self, sessions: Sessions) -> None:
        raise NotImplementedError

    def scores(self, prefix: np.ndarray) -> np.ndarray:
        """A score for every item in the vocabulary, given the prefix's item indices."""
        raise NotImplementedError

    def ranking_scores(self, prefix: np.ndarray) -> np.ndarray:
        """``scores`` with popularity as the tie-breaker; popularity alone for an empty prefix.

        Popularity fills the list when the model knows few neighbours; evaluation ranks by
        exactly these scores, so offline metrics measure what is served.
        """
        if self._tiebreak is None:
            self._tiebreak = 1e-9 * self.popularity / max(self.popularity.max(initial=0.0), 1.0)
        scores = self.scores(prefix) if len(prefix) else np.zeros(len(self.popularity))
        return scores + self._tiebreak

    def index_of(self, item_ids: list[str]) -> tuple[np.ndarray, list[str]]:
        """Item indices for known ids, and the ids the model has never seen."""
        if not self._index:
            self._index = {item: i for i, item in enumerate(self.vocabulary.tolist())}
        known = [self._index[i] for i in item_ids if i in self._index]
        unknown = [i for i in item_ids if i not in self._index]
        return np.asarray(known, dtype=np.int64), unknown

    def recommend(self, item_ids: list[str], k: int = 20, exclude_seen: bool = False) -> list[tuple[str, float]]:
        """Top-k item ids with scores for a session given as item ids, oldest first.

        Unknown items are ignored; with no known item the answer is the popularity list.
        """
        prefix, _ = self.index_of(item_ids)
        scores = self.ranking_scores(prefix)
        if exclude_seen and len(prefix):
            scores[prefix] = -np.inf
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]
        top = top[np.isfinite(scores[top])]
        return list(zip(self.vocabulary[top].tolist(), scores[top].tolist(), strict=True))

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ARTIFACT_FILE
        arrays = {name: getattr(self, name) for name in self.state_arrays}
        np.savez(
            path,
            kind=np.asarray(self.kind),
            params=np.asarray(json.dumps(self.params, sort_keys=True)),
            vocabulary=self.vocabulary.astype(str),
            popularity=self.popularity,
            **arrays,
        )
        return path


def load_model(path: Path) -> Recommender:
    """Load a model saved by ``Recommender.save`` (the file or its directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / ARTIFACT_FILE
    with np.load(path, allow_pickle=False) as data:
        kind = str(data["kind"])
        cls = Recommender.registry.get(kind)
        if cls is None:
            raise ValueError(f"{path} holds a model of unknown kind {kind!r}")
        model = cls(**json.loads(str(data["params"])))
        model.vocabulary = data["vocabulary"]
        model.popularity = data["popularity"]
        for name in cls.state_arrays:
            setattr(model, name, data[name])
    return model
