"""Which model family, with which parameters: a search on a validation window, never the test window.

The validation window is the training window's own last days (``validation_split``), so the
test window the gate compares on stays unseen until the chosen model is scored on it. The
search is Optuna's TPE sampler driven by ask-and-tell; each family's first trial is its
defaults, so a search never ends worse than the defaults on validation. Within a training run
every trial is a nested MLflow run (parameters, ``val_*`` metrics), beneath the final model.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import mlflow
import numpy as np
import optuna
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from kaizen.models import AUTO_FAMILY, CANDIDATE_FAMILIES, MODELS
from kaizen.registry.gate import metric_name, quoted
from kaizen.training.dataset import Split, time_split
from kaizen.training.evaluation import evaluate_with_ranks, per_prediction

log = logging.getLogger(__name__)

VSTAN_SPACE: dict[str, BaseDistribution] = {
    "k": IntDistribution(50, 500, log=True),
    "lambda_spw": FloatDistribution(0.5, 16, log=True),
    "lambda_snh": FloatDistribution(2, 100, log=True),
    "lambda_inh": FloatDistribution(0.5, 16, log=True),
    "lambda_ipw": FloatDistribution(0.5, 16, log=True),
    "similarity": CategoricalDistribution(["cosine", "vec"]),
}
SEARCH_SPACES: dict[str, dict[str, BaseDistribution]] = {
    "popularity": {},
    "markov": {},
    "sr": {"steps": IntDistribution(1, 15)},
    "vsknn": {"k": IntDistribution(50, 500, log=True), "sample_size": IntDistribution(500, 5000, log=True)},
    "stan": {
        "k": IntDistribution(50, 500, log=True),
        "lambda_spw": FloatDistribution(0.5, 16, log=True),
        "lambda_snh": FloatDistribution(2, 100, log=True),
        "lambda_inh": FloatDistribution(0.5, 16, log=True),
    },
    "vstan": VSTAN_SPACE,
    "vstan_category": {
        **VSTAN_SPACE,
        "category_weight": FloatDistribution(0.003, 0.3, log=True),
        "category_decay": FloatDistribution(0.5, 8, log=True),
        "category_popularity": FloatDistribution(0.0, 1.0),
    },
    "slist": {
        "alpha": FloatDistribution(0.0, 1.0),
        "reg": FloatDistribution(1, 200, log=True),
        "train_weight": FloatDistribution(0.25, 16, log=True),
        "predict_weight": FloatDistribution(0.25, 16, log=True),
        "session_weight_days": FloatDistribution(1, 64, log=True),
    },
}


@dataclass(frozen=True)
class Trial:
    family: str
    params: dict
    score: float
    values: np.ndarray | None = field(default=None, compare=False, repr=False)  # per validation prediction


@dataclass(frozen=True)
class Choice:
    """What to fit on the whole training window, and the search that chose it."""

    family: str
    params: dict
    trials: list[Trial] = field(default_factory=list)
    compared: dict[str, float] = field(default_factory=dict)  # each family's pick's validation score
    searched: bool = False  # parameters tuned by a search (recorded on the version, reused by tune=auto)
    reused: str = ""  # why an earlier search's choice was taken instead

    def note(self, primary: str) -> str:
        """How the family was chosen, in words: "chosen on validation, MRR@20 .512 over vstan .491, sr .350"."""
        if self.reused:
            return self.reused
        others = {f: v for f, v in self.compared.items() if f != self.family}
        if not others:
            return ""
        ranked = sorted(others.items(), key=lambda item: -item[1])
        best = quoted(self.compared[self.family])
        return f"chosen on validation, {metric_name(primary)} {best} over " + ", ".join(
            f"{f} {quoted(v)}" for f, v in ranked
        )


def validation_split(
    events: pd.DataFrame, test_start: pd.Timestamp, days: float, max_sessions: int | None = None
) -> Split:
    """The training sessions (those that end before ``test_start``: no event of a test session),
    split again by time: their last ``days`` as validation, the rest as its training part."""
    session_end = events.groupby("session_id")["occurred_at"].transform("max")
    return time_split(events[session_end < test_start], days, max_sessions)


def defaults(family: str) -> dict:
    """The family's default values of the parameters its search space varies."""
    return {k: v for k, v in MODELS[family]().params.items() if k in SEARCH_SPACES[family]}


def tune(
    family: str,
    validation: Split,
    budget: int,
    primary: str,
    seed: int = 0,
    seconds: float | None = None,
    fixed: dict | None = None,
) -> list[Trial]:
    """Up to ``budget`` trials (and at most ``seconds``) of ``family`` on the validation window,
    the defaults first; ``fixed`` parameters are never varied."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial, below, is the progress
    fixed = fixed or {}
    space = {k: v for k, v in SEARCH_SPACES[family].items() if k not in fixed}
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(5, max(1, budget // 2)))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial({k: v for k, v in defaults(family).items() if k in space})
    trials: list[Trial] = []
    started = time.monotonic()
    for i in range(budget if space else 1):
        if trials and seconds is not None and time.monotonic() - started > seconds:
            log.info("%s: time budget of %.0f s spent after %d trials", family, seconds, len(trials))
            break
        asked = study.ask(space)
        params = {**{k: _readable(v) for k, v in asked.params.items()}, **fixed}
        metrics, ranks = _score(family, params, validation, run_name=f"{family}-trial-{i}")
        study.tell(asked, metrics[primary])
        trials.append(Trial(family, params, metrics[primary], per_prediction(ranks, primary)))
        log.info("%s trial %d/%d %s: val %s=%.4f", family, i + 1, budget, params, primary, metrics[primary])
    return trials


def beyond_noise(trials: list[Trial]) -> Trial:
    """The best trial if it beats the first (the defaults) by more than the noise, else the
    first: a search must not trade tested defaults for a validation window's luck. The noise
    is the standard error of the paired per-prediction differences, times sqrt(2 ln n) for n
    challengers of the defaults (about how far the best of n noisy comparisons strays)."""
    first, best = trials[0], max(trials, key=lambda t: t.score)
    if best is first or first.values is None or best.values is None:
        return best
    differences = best.values - first.values
    se = differences.std(ddof=1) / np.sqrt(len(differences)) if len(differences) > 1 else np.inf
    noise = se * max(1.0, np.sqrt(2 * np.log(len(trials) - 1)))
    if best.score - first.score > noise:
        return best
    log.info(
        "%s: no trial beats the defaults by more than the noise (+%.4f against %.4f): keeping the defaults",
        first.family,
        best.score - first.score,
        noise,
    )
    return first


def _readable(value):
    """Three significant digits: a parameter a person can read and type again, the same model."""
    return float(f"{value:.3g}") if isinstance(value, float) else value


def _score(family: str, params: dict, validation: Split, run_name: str) -> tuple[dict[str, float], np.ndarray]:
    metrics, ranks = evaluate_with_ranks(MODELS[family](**params).fit(validation.train), validation.test)
    if mlflow.active_run() is not None:
        with mlflow.start_run(run_name=run_name, nested=True):
            mlflow.log_params({"model": family, **params})
            mlflow.log_metrics({f"val_{k}": v for k, v in metrics.items()})
    return metrics, ranks


def choose(
    family: str,
    validation: Split,
    primary: str,
    tune_budget: int | None,
    seed: int = 0,
    seconds: float | None = None,
    fixed: dict | None = None,
) -> Choice:
    """The family (``family``, or the best of ``CANDIDATE_FAMILIES`` for "auto") and its parameters:
    tuned when ``tune_budget`` is given (the time budget shared between families), else the
    defaults (callers ask only for "auto" or a search). ``fixed`` parameters are never varied."""
    families = CANDIDATE_FAMILIES if family == AUTO_FAMILY else (family,)
    share = seconds / len(families) if seconds is not None else None
    trials: list[Trial] = []
    chosen: list[Trial] = []  # each family's pick
    for name in families:
        if tune_budget:
            searched = tune(name, validation, tune_budget, primary, seed, share, fixed)
            trials += searched
            chosen.append(beyond_noise(searched))
        else:  # "auto" without a search: each family with its defaults
            params = {**MODELS[name]().params, **(fixed or {})}
            metrics, _ = _score(name, params, validation, f"{name}-defaults")
            trials.append(Trial(name, params, metrics[primary]))
            chosen.append(trials[-1])
            log.info("%s with its defaults: val %s=%.4f", name, primary, trials[-1].score)
    best = max(chosen, key=lambda t: t.score)
    log.info("chose %s %s: val %s=%.4f", best.family, best.params, primary, best.score)
    compared = {t.family: t.score for t in chosen}
    return Choice(best.family, best.params, trials, compared, searched=bool(tune_budget))
