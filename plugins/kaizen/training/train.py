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

import time
from dataclasses import dataclass

from kaizen.config import Settings
from kaizen.errors import AlreadyRegistered, UpstreamMissing
from kaizen.models import MODELS
from kaizen.registry import gate
from kaizen.training import champion_gate, tracking
from kaizen.training.dataset import read_window, time_split
from kaizen.training.evaluation import evaluate
from kaizen.training.item_features import TRAINING_SERVICE, item_features, recent_popularity
from kaizen.training.lineage import Lineage, TrainingWindow
from kaizen.training.options import TrainOptions, training_key
from kaizen.training.tuning import parameters
from kaizen.version import code_version


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    version: str
    decision: gate.GateDecision
    metrics: dict[str, float]

    def as_dict(self) -> dict:
        """What the DAG tasks return to XCom: JSON-able, the keys they and their callers read."""
        return {
            "run_id": self.run_id,
            "version": self.version,
            "promoted": self.decision.promote,
            "reason": self.decision.reason,
            "note": self.decision.note(self.version),
            "metrics": self.metrics,
        }


def train_recommender(settings: Settings, options: TrainOptions) -> dict:
    """The DAG tasks' entry point: ``train``'s result as the dict they return to XCom."""
    return train(settings, options).as_dict()


def train(settings: Settings, options: TrainOptions) -> TrainResult:
    """One model version trained, evaluated, registered and gated: the steps in the order they run."""
    events = read_window(settings.lake_dir, options.train_days + options.test_days)
    split = time_split(events, options.test_days)
    if split.test.n_sessions == 0:
        # Valid options, too little data: the same options work once the lake holds more history.
        raise UpstreamMissing(
            f"the lake's last {options.test_days} days hold no test session of items seen in the "
            f"{options.train_days} days before: run the ingest_shop_events DAG to add history first"
        )
    # Before any run starts: without registered features there is nothing to train with.
    features = item_features(settings, split.train.vocabulary, split.test_start)
    code = code_version(settings.code_version)
    key = training_key(options, split.digest, code)
    same = None if options.force_promote else tracking.same_as_newest(settings, key)
    if same:
        # The 02:00 schedule and the features Asset both fire on the same night's data.
        raise AlreadyRegistered(
            f"v{same} was made from the same data (digest {split.digest}), code ({code}) and options: "
            "nothing new to train"
        )

    with tracking.training_run(settings, options.model) as run_id:
        params = parameters(options, events, split.test_start)
        started = time.perf_counter()
        model = MODELS[options.model](**params).fit(split.train)
        fit_s = time.perf_counter() - started
        model.popularity = recent_popularity(features, model.vocabulary, model.popularity)
        metrics = evaluate(model, split.test)
        window = TrainingWindow.of(events, split, test_predictions=int(metrics["predictions"]))
        lineage = Lineage(options.model, model.params, window, feature_service=TRAINING_SERVICE, code_version=code)
        tracking.log_training(options, lineage, features, metrics, fit_s)

        version = tracking.register_model(settings, model, lineage, key)
        outcome = champion_gate.judge(settings, options, split.test, model, metrics)
        gate.apply(settings.mlflow_tracking_uri, settings.model_name, version, outcome.decision)
        tracking.log_outcome(settings, version, lineage, metrics, outcome)
    return TrainResult(run_id, version, outcome.decision, metrics)
