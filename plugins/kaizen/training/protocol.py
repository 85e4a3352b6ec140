"""session-rec's RetailRocket protocol (``preprocessing/session_based/preprocess_retailrocket.py``).

Views only; one filtering pass as session-rec's ``filter_data``: sessions of a single
event go, then items seen fewer than ``min_item_support`` times, then sessions left
shorter than ``min_session_length``; then ``split_data``: test = sessions whose last event
falls in the final ``test_days`` (from the last event), events of test items unseen in
training removed, test sessions left shorter than 2 dropped (``dataset.time_split``).
Every position of every test session is then predicted, items already in the session
are not excluded (``evaluation.evaluate``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from kaizen.errors import ConfigError
from kaizen.models import DEFAULT_FAMILY
from kaizen.registry.gate import GatePolicy
from kaizen.training.dataset import Split, digest, drop_short, sessions_of, time_split

PRIMARY = GatePolicy().primary  # what a search chooses on, as the gate compares by default


def filter_events(events: pd.DataFrame, min_item_support: int = 5, min_session_length: int = 2) -> pd.DataFrame:
    """session-rec's ``filter_data``: drop single-event sessions, rare items, short sessions (once)."""
    lengths = events.groupby("session_id")["item_id"].transform("size")
    events = events[lengths > 1]
    support = events.groupby("item_id")["session_id"].transform("size")
    events = events[support >= min_item_support]
    lengths = events.groupby("session_id")["item_id"].transform("size")
    return events[lengths >= min_session_length]


def protocol_events(
    events: pd.DataFrame, min_item_support: int = 5, min_session_length: int = 2, event_types=("view",)
) -> pd.DataFrame:
    """The events session-rec keeps (views, ``filter_data``), each with an ``event_id`` for the digest."""
    events = events[events["event_type"].isin(event_types)].dropna(subset=["session_id", "item_id"])
    events = filter_events(events, min_item_support, min_session_length)
    if "event_id" not in events.columns:  # the digest orders ties by event_id
        events = events.assign(event_id=np.arange(len(events)))
    return events


def session_rec_split(
    events: pd.DataFrame,
    test_days: float = 2.0,
    min_item_support: int = 5,
    min_session_length: int = 2,
    event_types=("view",),
) -> Split:
    """Train and test ``Sessions`` from raw events (session_id, item_id, event_type, occurred_at UTC)."""
    return time_split(protocol_events(events, min_item_support, min_session_length, event_types), test_days)


def n_predictions(split: Split) -> int:
    """How many next-item predictions the test set asks for (one per position after the first)."""
    lengths = np.diff(split.test.offsets)
    return int(np.maximum(lengths - 1, 0).sum())


def presplit(train: pd.DataFrame, test: pd.DataFrame, event_types=("view",)) -> Split:
    """Train and test given as separate files (session-rec's prepared ``*_train_full`` and
    ``*_test``): test events of items unseen in training removed, short sessions dropped."""
    train = train[train["event_type"].isin(event_types)].dropna(subset=["session_id", "item_id"])
    test = test[test["event_type"].isin(event_types)].dropna(subset=["session_id", "item_id"])
    train_sessions = sessions_of(train)
    test_sessions = drop_short(sessions_of(test, train_sessions.vocabulary))
    both = pd.concat([train, test], ignore_index=True)
    return Split(
        train_sessions, test_sessions, test["occurred_at"].min(), digest(both.assign(event_id=np.arange(len(both))))
    )


def evaluate_files(
    fmt: str,
    train_path,
    test_path=None,
    model: str = DEFAULT_FAMILY,
    params: dict | None = None,
    test_days: float = 2.0,
    tune: int | None = None,
    seconds: float | None = None,
) -> dict:
    """``kaizen evaluate``: score a model on public data with the code the DAG uses.

    With one file the session-rec protocol splits it (last ``test_days`` as test); with two
    they are the training and test sets as given. With ``tune`` trials (or ``model`` "auto")
    the family and its parameters are chosen on a validation window cut from the training
    part, as ``train_recommender`` does, before the chosen model is scored on the test set.
    """
    from kaizen.datasets import read
    from kaizen.models import AUTO_FAMILY, MODELS
    from kaizen.training.evaluation import evaluate
    from kaizen.training.tuning import choose, validation_split

    if model not in MODELS and model != AUTO_FAMILY:
        raise ConfigError(f"unknown model {model!r}; one of {AUTO_FAMILY}, {', '.join(sorted(MODELS))}")
    if params and model == AUTO_FAMILY:
        raise ConfigError("--param needs a pinned --model, not auto")
    train = read(fmt, train_path)
    if test_path:
        split = presplit(train, read(fmt, test_path))
        before_test = train[train["event_type"] == "view"].dropna(subset=["session_id", "item_id"])
        before_test = before_test.assign(event_id=np.arange(len(before_test)))
        # Every training session is before the test file, even one ending after its first event.
        search_until = before_test["occurred_at"].max() + pd.Timedelta(seconds=1)
    else:
        before_test = protocol_events(train)
        split = time_split(before_test, test_days)
        search_until = split.test_start
    search = {}
    if tune or model == AUTO_FAMILY:
        validation = validation_split(before_test, search_until, test_days)
        choice = choose(model, validation, PRIMARY, tune, seconds=seconds, fixed=params)
        model, params = choice.family, choice.params
        search = {"trials": len(choice.trials), f"validation_{PRIMARY}": choice.compared}
    started = time.perf_counter()
    fitted = MODELS[model](**(params or {})).fit(split.train)
    fit_s = time.perf_counter() - started
    return {
        "model": model,
        "params": fitted.params,
        "train_sessions": split.train.n_sessions,
        "items": split.train.n_items,
        "fit_s": round(fit_s, 3),
        **({"search": search} if search else {}),
        **evaluate(fitted, split.test),
    }
