"""Train a recommender, evaluate it on a time split, register it and run the champion gate.

The registered model is exactly the one evaluated (fitted on the training window), so its
metrics are honest and the gate compares like with like: the champion's registered model
is scored on the same test window. Freshness cost: the last ``test_days`` are not trained on.
Item popularity comes from the Feast feature service, point-in-time at the split
(``item_features``; tuning trials keep training counts: they only compare parameters); the
item-feature table is the run's dataset input and the service's name is recorded on the
run and on the model version.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

from kaizen.config import PROJECT_DIR, Settings
from kaizen.models import DEFAULT_FAMILY, MODELS, Recommender, load_model
from kaizen.registry import gate
from kaizen.registry.champion import champion_version, register
from kaizen.registry.client import MODEL_ARTIFACT, RegistryClient
from kaizen.registry.pyfunc import log_recommender
from kaizen.training import report
from kaizen.training.dataset import Split, common_test, read_events, time_split
from kaizen.training.evaluation import evaluate, target_ranks
from kaizen.training.item_features import TRAINING_SERVICE, item_features, recent_popularity
from kaizen.training.tuning import tune

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    model: str = DEFAULT_FAMILY
    params: dict = field(default_factory=dict)
    train_days: float = 30.0  # history before the test window
    test_days: float = 2.0
    tune: bool = False
    tuning_budget: int = 6
    seed: int = 0
    force_promote: bool = False
    force_reason: str = ""
    policy: gate.GatePolicy = field(default_factory=gate.GatePolicy)


def code_version() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def window(events: pd.DataFrame, options: TrainOptions) -> pd.DataFrame:
    end = events["occurred_at"].max()
    return events[events["occurred_at"] >= end - pd.Timedelta(days=options.train_days + options.test_days)]


def champion_model(settings: Settings) -> tuple[str, Recommender] | None:
    version = champion_version(settings.mlflow_tracking_uri, settings.model_name)
    if version is None:
        return None
    path = RegistryClient(settings.mlflow_tracking_uri).download(settings.model_name, version, MODEL_ARTIFACT)
    return version, load_model(path)


def train_recommender(settings: Settings, options: TrainOptions) -> dict:
    if options.model not in MODELS:
        raise ValueError(f"unknown model {options.model!r}; one of {', '.join(MODELS)}")
    if options.force_promote and not options.force_reason.strip():
        raise ValueError("force_promote needs a force_reason")
    events = read_events(settings.lake_dir)
    if events.empty:
        raise ValueError(f"no view events in the lake at {settings.lake_dir}: run ingestion first")
    events = window(events, options)
    split = time_split(events, options.test_days)
    if split.test.n_sessions == 0:
        raise ValueError(f"the last {options.test_days} days hold no test session with known items")

    # Before any run starts: without registered features there is nothing to train with.
    features = item_features(settings, split.train.vocabulary, split.test_start)

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_experiment(settings.experiment)
    with mlflow.start_run(run_name=options.model) as run:
        params = dict(options.params)
        if options.tune:
            train_events = events[events["occurred_at"] < split.test_start]
            validation = time_split(train_events, options.test_days)
            params = {
                **tune(options.model, validation, options.tuning_budget, options.policy.primary, options.seed),
                **params,
            }
        started = time.perf_counter()
        model = MODELS[options.model](**params).fit(split.train)
        fit_s = time.perf_counter() - started
        model.popularity = recent_popularity(features, model.vocabulary, model.popularity)
        mlflow.log_input(mlflow.data.from_pandas(features, name=TRAINING_SERVICE), context="training")
        metrics = evaluate(model, split.test)

        mlflow.log_params(
            {
                "model": options.model,
                "train_days": options.train_days,
                "test_days": options.test_days,
                "tuned": options.tune,
                "seed": options.seed,
                **model.params,
            }
        )
        mlflow.log_metrics({**metrics, "fit_s": fit_s})
        window_info = {
            "train_start": str(events["occurred_at"].min()),
            "test_start": str(split.test_start),
            "end": str(events["occurred_at"].max()),
            "train_sessions": split.train.n_sessions,
            "items": split.train.n_items,
            "test_predictions": int(metrics["predictions"]),
            "digest": split.digest,
        }
        code = code_version()
        mlflow.set_tags(
            {f"kaizen.window.{k}": str(v) for k, v in window_info.items()}
            | {"kaizen.feature_service": TRAINING_SERVICE, "kaizen.code_version": code}
        )
        version = register(settings.mlflow_tracking_uri, log_recommender(model), settings.model_name)
        MlflowClient(settings.mlflow_tracking_uri).set_model_version_tag(
            settings.model_name, version, "kaizen.feature_service", TRAINING_SERVICE
        )

        decision, ranks = _gate(settings, options, split, model, metrics)
        gate.apply(settings.mlflow_tracking_uri, settings.model_name, version, decision)
        mlflow.set_tags(
            {"kaizen.gate.decision": "promoted" if decision.promote else "refused", "kaizen.model_version": version}
        )
        _log_report(settings, options, model, version, window_info, metrics, decision, ranks, code)
    return {
        "run_id": run.info.run_id,
        "version": version,
        "promoted": decision.promote,
        "reason": decision.reason,
        "metrics": metrics,
    }


def _gate(settings: Settings, options: TrainOptions, split: Split, model: Recommender, metrics: dict):
    """Score challenger and champion on the same predictions (test events of items both
    know); returns the decision and each model's target ranks there, for the plots."""
    champion = champion_model(settings)
    label = f"challenger ({options.model})"
    if champion is None:
        return gate.decide(metrics, None, options.policy), {label: target_ranks(model, split.test)}
    version, champion_recommender = champion
    for_challenger, for_champion = common_test(split.test, model.vocabulary, champion_recommender.vocabulary)
    decision = gate.decide(
        evaluate(model, for_challenger), evaluate(champion_recommender, for_champion), options.policy, version
    )
    if options.force_promote and not decision.promote:
        decision = gate.force(decision, options.force_reason)
    ranks = {
        label: target_ranks(model, for_challenger),
        f"champion v{version}": target_ranks(champion_recommender, for_champion),
    }
    return decision, ranks


def _log_report(settings, options, model, version, window_info, metrics, decision, ranks, code) -> None:
    compared = {"challenger": decision.challenger}
    if decision.champion is not None:
        compared[f"champion v{decision.champion_version}"] = decision.champion
    for figure, name in (
        (report.hit_rate_curves(ranks), "hit_rate_at_k"),
        (report.bias_chart(compared), "coverage_and_popularity"),
    ):
        mlflow.log_figure(figure, f"plots/{name}.png")
        report.close(figure)
    card = report.model_card(
        name=settings.model_name,
        version=version,
        model=options.model,
        params=model.params,
        window=window_info,
        metrics=metrics,
        decision=decision.as_dict(),
        feature_service=TRAINING_SERVICE,
        code_version=code,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model_card.md"
        path.write_text(card)
        mlflow.log_artifact(str(path))


def options_from_params(params: dict) -> TrainOptions:
    """TrainOptions from a DAG run's Params (the UI's trigger form)."""
    return TrainOptions(
        model=params["model"],
        train_days=float(params["train_days"]),
        test_days=float(params["test_days"]),
        tune=bool(params["tune"]),
        tuning_budget=int(params["tuning_budget"]),
        force_promote=bool(params["force_promote"]),
        force_reason=params.get("force_reason") or "",
        policy=gate.GatePolicy(
            primary=params["primary_metric"], margin=float(params["margin"]), tolerance=float(params["tolerance"])
        ),
    )
