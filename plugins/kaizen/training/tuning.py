"""Hyper-parameter search on a validation window carved from the training window.

Each trial is a nested MLflow run under the training run, so the UI shows every trial
with its parameters and validation metrics beneath the final model.
"""

from __future__ import annotations

import itertools
import logging
import random

import mlflow
import pandas as pd

from kaizen.models import MODELS
from kaizen.training.dataset import Split, time_split
from kaizen.training.evaluation import evaluate
from kaizen.training.options import TrainOptions

log = logging.getLogger(__name__)

# Candidate values per model family; a trial is one combination.
SEARCH_SPACES: dict[str, dict[str, list]] = {
    "popularity": {},
    "sr": {"steps": [2, 3, 5, 10, 15]},
    "markov": {},
    "vsknn": {"k": [50, 100, 200], "sample_size": [500, 1000, 2500]},
    "stan": {"k": [100, 200, 500], "lambda_spw": [0.5, 1.0, 2.0], "lambda_snh": [2.0, 5.0, 10.0]},
    "vstan": {"k": [100, 200, 500], "lambda_spw": [0.5, 1.0, 2.0], "lambda_snh": [2.0, 5.0, 10.0]},
}


def candidates(model: str, budget: int, seed: int = 0) -> list[dict]:
    """Up to ``budget`` parameter sets, the same ones for the same seed."""
    space = {k: v for k, v in SEARCH_SPACES.get(model, {}).items() if k in _accepted(model)}
    grid = [dict(zip(space, values, strict=True)) for values in itertools.product(*space.values())] or [{}]
    random.Random(seed).shuffle(grid)
    return grid[: max(1, budget)]


def _accepted(model: str) -> set[str]:
    import inspect

    return set(inspect.signature(MODELS[model].__init__).parameters) - {"self", "params"}


def tune(model: str, validation: Split, budget: int, primary: str, seed: int = 0) -> dict:
    """The parameters that score best on ``primary`` over the validation window."""
    best_params, best_score = {}, float("-inf")
    for i, params in enumerate(candidates(model, budget, seed)):
        with mlflow.start_run(run_name=f"trial-{i}", nested=True):
            metrics = evaluate(MODELS[model](**params).fit(validation.train), validation.test)
            mlflow.log_params({"model": model, **params})
            mlflow.log_metrics({f"val_{k}": v for k, v in metrics.items()})
        log.info("trial %d %s: %s=%.4f", i, params, primary, metrics[primary])
        if metrics[primary] > best_score:
            best_params, best_score = params, metrics[primary]
    return best_params


def parameters(options: TrainOptions, events: pd.DataFrame, test_start: pd.Timestamp) -> dict:
    """The parameters to fit with: the options' own, over the best of a search when asked to tune.

    The search splits the events before ``test_start`` again by time, so no trial sees the
    test window the gate compares on.
    """
    if not options.tune:
        return dict(options.params)
    validation = time_split(events[events["occurred_at"] < test_start], options.test_days)
    best = tune(options.model, validation, options.tuning_budget, options.policy.primary, options.seed)
    return {**best, **options.params}
