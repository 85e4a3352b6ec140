"""What a model version was made from: recorded as run tags and on its model card, so a
version can be traced to its data window, parameters, features and code."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from kaizen.training.dataset import Split


@dataclass(frozen=True)
class TrainingWindow:
    train_start: pd.Timestamp
    test_start: pd.Timestamp
    end: pd.Timestamp
    train_sessions: int
    items: int
    test_predictions: int
    digest: str  # identifies the exact events, for "same data" comparisons

    @classmethod
    def of(cls, events: pd.DataFrame, split: Split, test_predictions: int) -> TrainingWindow:
        """The window ``split`` was made from (``events``), with how many predictions its test asked for."""
        return cls(
            train_start=events["occurred_at"].min(),
            test_start=split.test_start,
            end=events["occurred_at"].max(),
            train_sessions=split.train.n_sessions,
            items=split.train.n_items,
            test_predictions=test_predictions,
            digest=split.digest,
        )

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainingWindow:
        """Inverse of ``as_dict`` after a JSON round trip (XCom): timestamps back from their text."""
        times = ("train_start", "test_start", "end")
        return cls(**{k: pd.Timestamp(v) if k in times else v for k, v in data.items()})


@dataclass(frozen=True)
class Lineage:
    family: str
    params: dict  # the fitted model's, tuned ones included
    window: TrainingWindow
    feature_service: str
    code_version: str

    def as_dict(self) -> dict:
        """JSON-able (for XCom): timestamps as ISO text."""
        return {**asdict(self), "window": {k: _json(v) for k, v in self.window.as_dict().items()}}

    @classmethod
    def from_dict(cls, data: dict) -> Lineage:
        return cls(**{**data, "window": TrainingWindow.from_dict(data["window"])})


def _json(value):
    return value.isoformat() if isinstance(value, pd.Timestamp) else value
