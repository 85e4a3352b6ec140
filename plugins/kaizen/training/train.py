"""Train a recommender, evaluate it on a time split, register it; then run the champion gate.

Two steps, two Airflow tasks: ``train`` (long, any number at once) registers a ``Candidate``;
``gate`` (short, in the ``kaizen_registry`` pool of one slot, as every task that moves
``@champion``) compares it with the champion on the same test sessions (a run artifact) and
promotes it or keeps it as ``@challenger``. ``train_recommender`` runs both in one process
(tests, the drift scenario).

The registered model is exactly the one evaluated (fitted on the training window), so its
metrics are honest and the gate compares like with like: the champion's registered model
is scored on the same test window. Freshness cost: the last ``test_days`` are not trained on.
Item popularity and category come from the Feast feature service, point-in-time at the split
(``item_features``; tuning trials keep training counts: they only compare parameters); the
item-feature table is the run's dataset input and the service's name is recorded on the
run and on the model version.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

import pandas as pd

from kaizen.config import Settings
from kaizen.errors import AlreadyRegistered, ChallengerKept, UpstreamMissing
from kaizen.models import AUTO_FAMILY, MODELS, Recommender, Sessions
from kaizen.registry import gate
from kaizen.training import champion_gate, tracking
from kaizen.training.dataset import read_window, time_split, with_categories
from kaizen.training.evaluation import evaluate
from kaizen.training.item_features import TRAINING_SERVICE, item_categories, item_features, recent_popularity
from kaizen.training.lineage import Lineage, TrainingWindow
from kaizen.training.options import TrainOptions, training_key
from kaizen.training.tuning import Choice, choose, validation_split
from kaizen.version import code_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """A registered, evaluated version waiting for the gate; what the train task hands the gate task."""

    run_id: str
    version: str
    lineage: Lineage
    metrics: dict[str, float]
    choice_note: str = ""  # how the family was chosen, when it was
    # Already in memory when both steps run in one process; the gate task reloads them.
    model: Recommender | None = field(default=None, compare=False, repr=False)
    test: Sessions | None = field(default=None, compare=False, repr=False)

    @property
    def note(self) -> str:
        primary = f"{gate.metric_name('mrr_20')} {gate.quoted(self.metrics['mrr_20'])}"
        chosen = f"; {self.choice_note}" if self.choice_note else ""
        return f"v{self.version} registered ({self.lineage.family}, {primary} on the test window){chosen}"

    def as_dict(self) -> dict:
        """JSON for XCom: everything but the in-memory model and test sessions."""
        return {
            "run_id": self.run_id,
            "version": self.version,
            "lineage": self.lineage.as_dict(),
            "metrics": self.metrics,
            "choice_note": self.choice_note,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Candidate:
        lineage = Lineage.from_dict(data["lineage"])
        return cls(data["run_id"], data["version"], lineage, data["metrics"], data["choice_note"])


@dataclass(frozen=True)
class GateResult:
    """The gate's outcome for a candidate: what the gate task and ``train_recommender`` return."""

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
    """Both steps in one process (the CLI, tests): the gate's result as a dict."""
    return gate_candidate(settings, options, train(settings, options)).as_dict()


def train_task(settings: Settings, options: TrainOptions) -> dict:
    """The DAGs' train task: the registered candidate as XCom (JSON)."""
    return train(settings, options).as_dict()


def gate_task(settings: Settings, options: TrainOptions, candidate: dict) -> dict:
    """The DAGs' gate task: the decision as XCom when the candidate was promoted; ``ChallengerKept``
    (a skip, with the reason) when it was not, so that nothing that follows a promotion runs."""
    result = gate_candidate(settings, options, Candidate.from_dict(candidate)).as_dict()
    if not result["promoted"]:
        raise ChallengerKept(result["note"])
    return result


def train(settings: Settings, options: TrainOptions) -> Candidate:
    """One model version trained, evaluated and registered: the steps in the order they run."""
    events = read_window(settings.lake_dir, options.train_days + options.test_days)
    split = time_split(events, options.test_days, settings.eval_max_sessions)
    log.info(
        "%d view events: %d training sessions of %d items, %d test sessions from %s",
        len(events),
        split.train.n_sessions,
        split.train.n_items,
        split.test.n_sessions,
        split.test_start,
    )
    if split.test.n_sessions == 0:
        # Valid options, too little data: the same options work once the lake holds more history.
        raise UpstreamMissing(
            f"the lake's last {options.test_days} days hold no test session of items seen in the "
            f"{options.train_days} days before: run the ingest_shop_events DAG to add history first"
        )
    # Before any run starts: without registered features there is nothing to train with.
    features = item_features(settings, split.train.vocabulary, split.test_start)
    categories = item_categories(features)
    split = replace(split, train=with_categories(split.train, categories))
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
        choice = choose_model(settings, options, events, split, categories)
        started = time.perf_counter()
        model = MODELS[choice.family](**choice.params).fit(split.train)
        fit_s = time.perf_counter() - started
        log.info("%s fitted in %.1f s; evaluating on the test window", choice.family, fit_s)
        model.popularity = recent_popularity(features, model.vocabulary, model.popularity)
        metrics = evaluate(model, split.test)
        window = TrainingWindow.of(events, split, test_predictions=int(metrics["predictions"]))
        lineage = Lineage(choice.family, model.params, window, feature_service=TRAINING_SERVICE, code_version=code)
        tracking.log_training(options, lineage, features, metrics, fit_s, choice)
        tracking.log_test_window(split.test)
        searched_on = options.policy.primary if choice.searched else None
        version = tracking.register_model(settings, model, lineage, key, searched_on)
    return Candidate(run_id, version, lineage, metrics, choice.note(options.policy.primary), model, split.test)


def gate_candidate(settings: Settings, options: TrainOptions, candidate: Candidate) -> GateResult:
    """The champion gate on a registered candidate, on the test window it was evaluated on; the
    decision, plots and model card go to the candidate's training run."""
    test, model = candidate.test, candidate.model
    if test is None:
        test = tracking.load_test_window(settings, candidate.run_id)
    if model is None:
        model = champion_gate.load_version(settings, candidate.version)
    with tracking.resumed_run(settings, candidate.run_id):
        outcome = champion_gate.judge(settings, options, test, model, candidate.metrics)
        gate.apply(settings.mlflow_tracking_uri, settings.model_name, candidate.version, outcome.decision)
        tracking.log_outcome(settings, candidate.version, candidate.lineage, candidate.metrics, outcome)
    return GateResult(candidate.run_id, candidate.version, outcome.decision, candidate.metrics)


def choose_model(
    settings: Settings, options: TrainOptions, events, split, categories: pd.Series | None = None
) -> Choice:
    """The family and parameters to fit: the options' own, or the validation window's choice when
    the family is "auto" or a search is asked for (no trial sees the test window). ``tune`` None
    (the nightly default) searches when the data changed enough: monitoring started the run, or
    the last search is ``retune_days`` old; else that search's choice is reused. ``categories``
    (item id -> category id, as training has them) go to the validation window's models too."""
    tune = options.tune
    if tune is None:
        previous = tracking.last_search(settings)
        if previous and search_still_holds(previous, settings, options, split.test_start):
            return Choice(
                previous.family,
                previous.params,
                reused=f"parameters of v{previous.version}'s search (data until {previous.searched_until:%Y-%m-%d})",
            )
        tune = True
    if options.model != AUTO_FAMILY and not tune:
        return Choice(options.model, dict(options.params))
    validation = validation_split(events, split.test_start, options.test_days, settings.eval_max_sessions)
    if categories is not None:  # the catalogue as training has it (item id -> category id)
        validation = replace(validation, train=with_categories(validation.train, categories))
    if validation.test.n_sessions == 0:
        raise UpstreamMissing(
            f"no validation session in the {options.test_days} days before the test window: "
            "pin a model family without tuning, or ingest more history"
        )
    budget = options.tuning_budget if tune else None
    return choose(
        options.model, validation, options.policy.primary, budget, options.seed, settings.tuning_seconds, options.params
    )


def search_still_holds(previous: tracking.Search, settings: Settings, options: TrainOptions, test_start) -> bool:
    """Whether an earlier search's choice can stand in for a new one (see ``choose_model``)."""
    family_fits = options.model in (AUTO_FAMILY, previous.family) and not options.params
    age_days = (test_start - previous.searched_until).total_seconds() / 86400
    # A negative age (a backfill, an older lake) means that search saw this run's test window.
    fresh = 0 <= age_days < settings.retune_days
    return family_fits and fresh and previous.primary == options.policy.primary and not options.trigger_reason
