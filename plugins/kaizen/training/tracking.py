"""What a training run leaves in MLflow: params, metrics, lineage tags, the registered model,
the gate's decision, plots and the model card; in one module, so what the UI shows is read here."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

from kaizen.config import Settings
from kaizen.models import Recommender, Sessions
from kaizen.registry import tags
from kaizen.registry.champion import register
from kaizen.registry.pyfunc import log_recommender
from kaizen.training import report
from kaizen.training.champion_gate import GateOutcome
from kaizen.training.lineage import Lineage
from kaizen.training.options import TrainOptions
from kaizen.training.tuning import Choice

WINDOW_TAG = "kaizen.window."  # run tags of the data window: kaizen.window.test_start, .digest, ...
# MLflow 3's UI opens an experiment by its kind: without this tag it may guess GenAI (traces, prompts).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


@contextmanager
def training_run(settings: Settings, family: str) -> Iterator[str]:
    """An MLflow run in the training experiment, named after the model family until the gate
    renames it (``log_outcome``); yields its id."""
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    experiment = mlflow.set_experiment(settings.experiment)
    if experiment.tags.get("mlflow.experimentKind") != EXPERIMENT_KIND["mlflow.experimentKind"]:
        mlflow.set_experiment_tags(EXPERIMENT_KIND)
    with mlflow.start_run(run_name=family) as run:
        yield run.info.run_id


@contextmanager
def resumed_run(settings: Settings, run_id: str) -> Iterator[None]:
    """The training run again, for the gate task to record its decision beside the training."""
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    with mlflow.start_run(run_id=run_id):
        yield


def log_training(
    options: TrainOptions,
    lineage: Lineage,
    features: pd.DataFrame,
    metrics: dict[str, float],
    fit_s: float,
    choice: Choice,
) -> None:
    """The run's inputs and results: the item-feature table as its dataset, params, metrics, lineage
    tags, and how the family was chosen (each compared family's best validation score)."""
    mlflow.log_input(mlflow.data.from_pandas(features, name=lineage.feature_service), context="training")
    mlflow.log_params(
        {
            "model": lineage.family,
            "model_choice": options.model,
            "train_days": options.train_days,
            "test_days": options.test_days,
            "tuned": choice.searched,
            "seed": options.seed,
            **lineage.params,
        }
    )
    compared = choice.compared
    mlflow.log_metrics(
        {**metrics, "fit_s": fit_s}
        | {f"val_{family}_{options.policy.primary}": score for family, score in compared.items()}
    )
    chosen = choice.note(options.policy.primary)
    mlflow.set_tags(
        {"mlflow.runName": lineage.family}  # named after options.model ("auto") until here
        | {f"{WINDOW_TAG}{key}": str(value) for key, value in lineage.window.as_dict().items()}
        | {"kaizen.feature_service": lineage.feature_service, "kaizen.code_version": lineage.code_version}
        | ({"kaizen.trigger_reason": options.trigger_reason} if options.trigger_reason else {})
        | ({"kaizen.family_choice": f"{lineage.family}: {chosen}"} if chosen else {})
    )


TEST_WINDOW = "gate/test_window.npz"  # run artifact: the test sessions the version was evaluated on


def log_test_window(test: Sessions) -> None:
    """The (sampled) test sessions, so that the gate task compares on exactly these, whatever
    the lake holds by then (late events, a re-ingested day)."""
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.log_artifact(str(test.save(Path(tmp) / Path(TEST_WINDOW).name)), str(Path(TEST_WINDOW).parent))


def load_test_window(settings: Settings, run_id: str) -> Sessions:
    with tempfile.TemporaryDirectory() as tmp:
        path = MlflowClient(settings.mlflow_tracking_uri).download_artifacts(run_id, TEST_WINDOW, tmp)
        return Sessions.load(Path(path))


TRAINING_KEY = "kaizen.training_key"  # version tag: options.training_key of what made it


def same_as_newest(settings: Settings, key: str) -> str | None:
    """The newest version, if it was made with training ``key`` (the same data, code, options)
    and the gate decided on it: a version whose gate failed (or went stale) is trained again."""
    newest = MlflowClient(settings.mlflow_tracking_uri).search_model_versions(
        f"name='{settings.model_name}'", max_results=1, order_by=["version_number DESC"]
    )
    if not newest or newest[0].tags.get(TRAINING_KEY) != key:
        return None
    return str(newest[0].version) if newest[0].tags.get(tags.DECISION) in ("promoted", "refused") else None


SEARCH = "kaizen.search"  # version tag: what a search chose, on which metric, up to when


@dataclass(frozen=True)
class Search:
    version: str
    family: str
    params: dict
    primary: str  # the metric it chose on
    searched_until: pd.Timestamp  # the test window's start: the search saw only data before it


def last_search(settings: Settings, look_back: int = 50) -> Search | None:
    """The newest of the last ``look_back`` versions whose parameters a search chose."""
    versions = MlflowClient(settings.mlflow_tracking_uri).search_model_versions(
        f"name='{settings.model_name}'", max_results=look_back, order_by=["version_number DESC"]
    )
    for version in versions:
        if SEARCH in version.tags:
            found = json.loads(version.tags[SEARCH])
            until = pd.Timestamp(found["until"])
            return Search(str(version.version), found["family"], found["params"], found["primary"], until)
    return None


def register_model(settings: Settings, model: Recommender, lineage: Lineage, key: str, searched_on: str | None) -> str:
    """Log ``model`` in the run and register it as a new version; returns the version. The version
    names its feature service too (the model server reads the same features online), what made
    it (``TRAINING_KEY``) and, when a search chose its parameters (on metric ``searched_on``),
    that choice (``SEARCH``)."""
    version = register(settings.mlflow_tracking_uri, log_recommender(model), settings.model_name)
    client = MlflowClient(settings.mlflow_tracking_uri)
    client.set_model_version_tag(settings.model_name, version, "kaizen.feature_service", lineage.feature_service)
    client.set_model_version_tag(settings.model_name, version, TRAINING_KEY, key)
    if searched_on:
        chosen = {
            "family": lineage.family,
            "params": lineage.params,
            "primary": searched_on,
            "until": lineage.window.test_start.isoformat(),
        }
        client.set_model_version_tag(settings.model_name, version, SEARCH, json.dumps(chosen, sort_keys=True))
    return version


def log_outcome(
    settings: Settings, version: str, lineage: Lineage, metrics: dict[str, float], outcome: GateOutcome
) -> None:
    """The gate's decision as run tags and the run's name (family, version, decision: what the
    run list needs to tell runs apart), the comparison plots and the model card."""
    decision = outcome.decision
    verdict = "forced" if decision.forced else "promoted" if decision.promote else "refused"
    mlflow.set_tags(
        {
            tags.DECISION: "promoted" if decision.promote else "refused",
            tags.NOTE: decision.note(version),
            tags.MODEL_VERSION: version,
            "mlflow.runName": f"{lineage.family}-v{version}-{verdict}",
        }
    )
    compared = {"challenger": decision.challenger}
    if decision.champion is not None:
        compared[f"champion v{decision.champion_version}"] = decision.champion
    for figure, name in (
        (report.hit_rate_curves(outcome.ranks), "hit_rate_at_k"),
        (report.bias_chart(compared), "coverage_and_popularity"),
    ):
        mlflow.log_figure(figure, f"plots/{name}.png")
        report.close(figure)
    card = report.model_card(settings.model_name, version, lineage, metrics, decision)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model_card.md"
        path.write_text(card)
        mlflow.log_artifact(str(path))
