"""Training: options, the lake window, lineage and the model card offline; a first run against
a local MLflow store; the champion gate against the embedded stack's MLflow server."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from mlflow import MlflowClient

from conftest import RETAILROCKET
from kaizen import lake
from kaizen.config import Settings
from kaizen.datasets import read_retailrocket
from kaizen.errors import AlreadyRegistered, ChallengerKept, ConfigError, UpstreamMissing
from kaizen.features import engineering
from kaizen.features.registry_sync import apply
from kaizen.features.repo_config import feature_store
from kaizen.ingest import source
from kaizen.models import Sessions
from kaizen.registry.gate import GatePolicy, decide, force
from kaizen.training import champion_gate, report, tracking
from kaizen.training.dataset import time_split
from kaizen.training.lineage import Lineage, TrainingWindow
from kaizen.training.options import TrainOptions, options_from_params
from kaizen.training.train import (
    Candidate,
    GateResult,
    gate_candidate,
    gate_task,
    search_still_holds,
    train,
    train_recommender,
    train_task,
)


def write_lake(lake_dir, events) -> None:
    events = events.assign(event_id=np.arange(len(events)), recorded_at=events["occurred_at"])
    table = pa.Table.from_pandas(events[source.SOURCE_SCHEMA.names], schema=source.SOURCE_SCHEMA, preserve_index=False)
    days = sorted(set(events["occurred_at"].dt.date))
    lake.replace_days(table, lake_dir, days, pc.cast(pc.cast(table["occurred_at"], pa.date32()), pa.string()))


def with_features(settings, lake_dir, feast_db, home):
    """Settings for a lake whose features are computed and registered in a Feast of its own."""
    settings = dataclasses.replace(settings, lake_dir=lake_dir, feast_db_url=feast_db, home=home)
    engineering.build(lake_dir)
    apply(feature_store(settings), lake_dir)
    return settings


@pytest.fixture(scope="module")
def rr_events():
    return read_retailrocket(RETAILROCKET)


def sabotaged(events):
    """Training-window items shuffled across events: the sequences the model learns are noise."""
    train = (events["occurred_at"] < events["occurred_at"].max() - np.timedelta64(2, "D")).to_numpy()
    items = events["item_id"].to_numpy().copy()
    items[train] = np.random.default_rng(0).permutation(items[train])
    return events.assign(item_id=items)


@pytest.mark.stack
def test_gate_refuses_a_worse_model_and_promotes_a_better_one(stack, rr_events, fresh_db, tmp_path):
    write_lake(tmp_path / "clean", rr_events)
    write_lake(tmp_path / "bad", sabotaged(rr_events))
    base = dataclasses.replace(stack, model_name="gate-test", experiment="gate-test")
    clean = with_features(base, tmp_path / "clean", fresh_db, tmp_path / "home")
    client = MlflowClient(stack.mlflow_tracking_uri)

    first = train_recommender(clean, TrainOptions(model="popularity"))
    assert first["promoted"] and first["reason"] == "no champion yet"
    assert client.get_model_version("gate-test", first["version"]).tags["kaizen.feature_service"] == "recommender_v1"
    inputs = client.get_run(first["run_id"]).inputs.dataset_inputs
    assert [d.dataset.name for d in inputs] == ["recommender_v1"]

    # As the DAG runs it: two tasks, the candidate passed as JSON; the gate task reads the test
    # sessions (a run artifact) and the model from the registry. The lake changing in between
    # (here: replaced by another) changes nothing the gate compares on.
    sr = TrainOptions(model="sr")
    candidate = json.loads(json.dumps(train_task(clean, sr)))
    bad = with_features(base, tmp_path / "bad", fresh_db, tmp_path / "home")
    better = gate_task(bad, sr, candidate)
    assert better["promoted"], better["reason"]
    assert client.get_model_version_by_alias("gate-test", "champion").version == better["version"]

    worse = train_task(bad, sr)
    with pytest.raises(ChallengerKept, match=f"v{worse['version']} kept as @challenger: MRR@20 .* does not beat"):
        gate_task(bad, sr, worse)
    assert client.get_model_version_by_alias("gate-test", "champion").version == better["version"]
    assert client.get_model_version_by_alias("gate-test", "challenger").version == worse["version"]
    assert "does not beat" in client.get_model_version("gate-test", worse["version"]).tags["kaizen.gate.reason"]

    clean = with_features(base, tmp_path / "clean", fresh_db, tmp_path / "home")
    again = train_recommender(clean, TrainOptions(model="sr"))
    assert again["metrics"] == better["metrics"], "same data, params and seed give the same metrics"
    assert not again["promoted"], "a tie does not replace the champion"

    artifacts = {a.path for a in client.list_artifacts(better["run_id"])} | {
        a.path for a in client.list_artifacts(better["run_id"], "plots")
    }
    assert {"model_card.md", "plots/hit_rate_at_k.png", "plots/coverage_and_popularity.png"} <= artifacts


@pytest.mark.stack
def test_categories_come_from_the_catalogue_as_it_stood_at_the_split(stack, rr_events, fresh_db, tmp_path):
    """vstan_category learns each item's category from Feast's item_catalog, point-in-time at the
    split (the lake's events carry none), on the validation window as on the training window;
    a re-categorisation after the split stays out."""
    lake_dir = tmp_path / "lake"
    write_lake(lake_dir, rr_events)
    start, end = rr_events["occurred_at"].min(), rr_events["occurred_at"].max()
    catalogue = rr_events.drop_duplicates("item_id")[["item_id", "category_id"]].assign(
        price=1.0, available=True, updated_at=start - pd.Timedelta(days=1)
    )
    lake.write_catalog(catalogue, lake_dir, start.date())
    lake.write_catalog(catalogue.assign(category_id="moved", updated_at=end), lake_dir, end.date())
    base = dataclasses.replace(stack, model_name="category-test", experiment="category-test")
    settings = with_features(base, lake_dir, fresh_db, tmp_path / "home")

    result = train_recommender(settings, TrainOptions(model="auto"))
    validation = MlflowClient(stack.mlflow_tracking_uri).get_run(result["run_id"]).data.metrics
    assert validation["val_vstan_category_mrr_20"] > validation["val_vstan_mrr_20"], (
        "the validation window has them too"
    )
    model = champion_gate.load_version(settings, result["version"])
    assert model.kind == "vstan_category", "the data chose the family"
    truth = catalogue.set_index("item_id")["category_id"].reindex(model.vocabulary)
    assert (model.item_category >= 0).all(), "every trained item's category is known"
    pairs = pd.DataFrame({"code": model.item_category, "truth": truth.to_numpy()}).drop_duplicates()
    assert len(pairs) == pairs["code"].nunique() == pairs["truth"].nunique() > 100, "the catalogue's categories"


@pytest.mark.stack
def test_force_promote_records_its_reason(stack, rr_events, fresh_db, tmp_path):
    write_lake(tmp_path / "lake", rr_events)
    base = dataclasses.replace(stack, model_name="force-test", experiment="force-test")
    settings = with_features(base, tmp_path / "lake", fresh_db, tmp_path / "home")
    train_recommender(settings, TrainOptions(model="sr"))
    forced = train_recommender(
        settings, TrainOptions(model="popularity", force_promote=True, force_reason="rollout drill")
    )
    assert forced["promoted"] and forced["reason"].startswith("forced by operator: rollout drill")


def test_gate_decision_rules():
    champion = {"mrr_20": 0.30, "hr_20": 0.50}
    policy = GatePolicy(primary="mrr_20", margin=0.01, guarded=("hr_20",), tolerance=0.02)
    assert decide({"mrr_20": 0.32, "hr_20": 0.49}, champion, policy).promote
    assert not decide({"mrr_20": 0.305, "hr_20": 0.55}, champion, policy).promote  # inside the margin
    refused = decide({"mrr_20": 0.40, "hr_20": 0.40}, champion, policy)
    assert not refused.promote and "HR@20 drops" in refused.reason
    with pytest.raises(ValueError):
        force(refused, "  ")


def test_gate_decisions_read_as_one_line_on_the_runs_page():
    champion = {"mrr_20": 0.411, "hr_20": 0.60}
    first = decide({"mrr_20": 0.325, "hr_20": 0.5}, None)
    assert first.note("1") == "v1 promoted to @champion, the first: MRR@20 .325"
    tie = decide({"mrr_20": 0.411, "hr_20": 0.60}, champion, GatePolicy(), champion_version="1")
    assert tie.note("4") == "v4 kept as @challenger: MRR@20 .411 does not beat champion v1 .411 (margin 0)"
    better = decide({"mrr_20": 0.423, "hr_20": 0.60}, champion, GatePolicy(), champion_version="4")
    assert better.note("5") == "v5 promoted over v4: +0.012 MRR@20 (MRR@20 .423)"
    forced = force(tie, "rollout drill")
    assert forced.note("4").startswith("v4 promoted over v1: forced by operator: rollout drill (gate said: MRR@20")


# -- without the stack ------------------------------------------------------------------


def test_options_are_checked_when_built():
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        TrainOptions(model="nope")
    with pytest.raises(ConfigError, match="force_reason of at least 10 characters"):
        TrainOptions(force_promote=True, force_reason="  ")
    with pytest.raises(ConfigError, match="got 'too short'"):
        TrainOptions(force_promote=True, force_reason=" too short ")
    assert TrainOptions(force_promote=True, force_reason="rollout drill").force_promote


def test_options_from_the_dags_params():
    params = {
        "model": "sr",
        "train_days": 14,
        "test_days": 1,
        "tune": "always",
        "tuning_budget": 3,
        "primary_metric": "hr_20",
        "margin": 0.01,
        "tolerance": 0.02,
        "force_promote": False,
        "force_reason": None,
    }
    assert options_from_params(params) == TrainOptions(
        model="sr",
        train_days=14.0,
        test_days=1.0,
        tune=True,
        tuning_budget=3,
        policy=GatePolicy(primary="hr_20", margin=0.01, tolerance=0.02),
    )


def offline_settings(tmp_path) -> Settings:
    return Settings.from_env({"KAIZEN_HOME": str(tmp_path / "home"), "KAIZEN_LAKE_DIR": str(tmp_path / "lake")})


def test_an_empty_lake_asks_for_ingestion(tmp_path):
    with pytest.raises(UpstreamMissing, match=r"no view events in the lake .*ingest_shop_events DAG"):
        train(offline_settings(tmp_path), TrainOptions())


def test_a_lake_without_history_before_the_test_window_asks_for_more(rr_events, tmp_path):
    last_day = rr_events[rr_events["occurred_at"] >= rr_events["occurred_at"].max() - pd.Timedelta(days=1)]
    write_lake(tmp_path / "lake", last_day)
    with pytest.raises(UpstreamMissing, match=r"no test session .*ingest_shop_events DAG"):
        train(offline_settings(tmp_path), TrainOptions(test_days=2))


def test_a_lake_without_registered_features_asks_for_the_feature_dag(rr_events, fresh_db, tmp_path):
    write_lake(tmp_path / "lake", rr_events)
    settings = dataclasses.replace(offline_settings(tmp_path), feast_db_url=fresh_db)
    with pytest.raises(UpstreamMissing, match="materialize_features DAG"):
        train(settings, TrainOptions())


def test_model_card_shows_the_lineage_and_the_gates_comparison(rr_events):
    views = rr_events[rr_events["event_type"] == "view"].dropna(subset=["session_id", "item_id"])
    views = views.assign(event_id=np.arange(len(views)))
    split = time_split(views)
    window = TrainingWindow.of(views, split, test_predictions=1234)
    lineage = Lineage("sr", {"steps": 10}, window, feature_service="recommender_v1", code_version="abc1234")
    challenger = {"mrr_20": 0.30, "hr_20": 0.50}
    decision = decide(challenger, {"mrr_20": 0.31, "hr_20": 0.52}, GatePolicy(), champion_version="3")

    card = report.model_card("kaizen-recommender", "4", lineage, {**challenger, "predictions": 1234.0}, decision)
    assert card.startswith("# Model card: kaizen-recommender v4")
    assert "kept as @challenger" in card and decision.reason in card
    assert f"| data digest | `{split.digest}` |" in card
    assert f"({split.train.n_sessions} sessions, {split.train.n_items} items)" in card
    assert "(1234 predictions)" in card and "| code version | `abc1234` |" in card
    assert "Against the champion (v3)" in card and "| mrr_20 | 0.3000 | 0.3100 |" in card
    first = report.model_card("kaizen-recommender", "1", lineage, challenger, decide(challenger, None))
    assert "promoted to @champion" in first and "Against the champion" not in first and "nan" not in first


def test_the_result_the_dags_return_to_xcom():
    decision = decide({"mrr_20": 0.3, "hr_20": 0.5}, None)
    result = GateResult("run-1", "7", decision, {"mrr_20": 0.3, "hr_20": 0.5})
    assert json.loads(json.dumps(result.as_dict())) == {
        "run_id": "run-1",
        "version": "7",
        "promoted": True,
        "reason": "no champion yet",
        "note": "v7 promoted to @champion, the first: MRR@20 .300",
        "metrics": {"mrr_20": 0.3, "hr_20": 0.5},
    }


def test_a_first_run_registers_promotes_and_records_its_lineage(rr_events, fresh_db, tmp_path):
    """Against a local MLflow store: with no champion yet, nothing is downloaded over REST."""
    write_lake(tmp_path / "lake", rr_events)
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = dataclasses.replace(
        offline_settings(tmp_path), mlflow_tracking_uri=tracking_uri, code_version="test-build", model_name="first"
    )
    settings = with_features(settings, tmp_path / "lake", fresh_db, tmp_path / "home")
    client = MlflowClient(tracking_uri)
    client.create_experiment(settings.experiment, artifact_location=(tmp_path / "artifacts").as_uri())

    result = gate_candidate(
        settings, TrainOptions(model="popularity"), train(settings, TrainOptions(model="popularity"))
    )
    assert result.decision.promote and result.decision.reason == "no champion yet"
    assert str(client.get_model_version_by_alias("first", "champion").version) == result.version
    tags = client.get_run(result.run_id).data.tags
    assert tags["kaizen.code_version"] == "test-build"
    assert tags["kaizen.gate.decision"] == "promoted" and tags["kaizen.model_version"] == result.version
    assert {"kaizen.window.digest", "kaizen.window.test_predictions"} <= set(tags)
    assert tags["kaizen.window.test_predictions"] == str(int(result.metrics["predictions"]))
    plots = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    assert plots == {"plots/hit_rate_at_k.png", "plots/coverage_and_popularity.png"}
    card = Path(client.download_artifacts(result.run_id, "model_card.md", str(tmp_path))).read_text()
    assert "promoted to @champion" in card and "| code version | `test-build` |" in card

    # A second trigger on the same data (the 02:00 schedule and the features Asset) registers nothing.
    with pytest.raises(AlreadyRegistered, match=f"v{result.version} was made from the same data"):
        train(settings, TrainOptions(model="popularity", trigger_reason="drift"))
    assert len(client.search_model_versions("name='first'")) == 1


def test_tune_auto_reuses_a_recent_search_and_searches_again_when_monitoring_asks(rr_events, fresh_db, tmp_path):
    """The nightly default (tune=auto): the first run searches; a run on changed data within
    KAIZEN_RETUNE_DAYS reuses that search's family and parameters; a run monitoring started
    (drift, a quality drop) searches again."""
    write_lake(tmp_path / "lake", rr_events)
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = dataclasses.replace(offline_settings(tmp_path), mlflow_tracking_uri=tracking_uri, model_name="auto")
    settings = with_features(settings, tmp_path / "lake", fresh_db, tmp_path / "home")
    MlflowClient(tracking_uri).create_experiment(settings.experiment, artifact_location=(tmp_path / "a").as_uri())
    nightly = TrainOptions(tune=None, tuning_budget=2)

    first = train(settings, nightly)
    assert first.choice_note.startswith("chosen on validation, MRR@20 .")
    searched = json.loads(MlflowClient(tracking_uri).get_model_version("auto", first.version).tags["kaizen.search"])
    assert searched["family"] == first.lineage.family and searched["params"] == first.lineage.params

    later = train(settings, dataclasses.replace(nightly, train_days=29))  # other options: not the same training
    assert later.choice_note == f"parameters of v{first.version}'s search (data until {searched['until'][:10]})"
    assert (later.lineage.family, later.lineage.params) == (first.lineage.family, first.lineage.params)

    drift = train(settings, dataclasses.replace(nightly, train_days=28, trigger_reason="drift: JS .31 > .2"))
    assert drift.choice_note.startswith("chosen on validation")


def test_a_large_test_window_is_scored_on_the_same_sample_every_time(rr_events):
    views = rr_events[rr_events["event_type"] == "view"].dropna(subset=["session_id", "item_id"])
    views = views.assign(event_id=np.arange(len(views)))
    whole = time_split(views).test
    sampled = time_split(views, max_test_sessions=100).test
    assert sampled.n_sessions == 100 < whole.n_sessions
    again = time_split(views, max_test_sessions=100).test
    assert np.array_equal(sampled.items, again.items) and np.array_equal(sampled.offsets, again.offsets)
    first = sampled.vocabulary[sampled.session(0)].tolist()
    assert any(first == whole.vocabulary[whole.session(s)].tolist() for s in range(whole.n_sessions))
    assert time_split(views, max_test_sessions=10**6).test.n_sessions == whole.n_sessions


def test_a_candidate_survives_xcom_and_its_test_sessions_their_file(rr_events, tmp_path):
    views = rr_events[rr_events["event_type"] == "view"].dropna(subset=["session_id", "item_id"])
    views = views.assign(event_id=np.arange(len(views)))
    split = time_split(views)
    window = TrainingWindow.of(views, split, test_predictions=1387)
    lineage = Lineage("slist", {"alpha": 0.95}, window, feature_service="recommender_v1", code_version="abc")
    candidate = Candidate("run-1", "3", lineage, {"mrr_20": 0.5}, "chosen on validation")
    again = Candidate.from_dict(json.loads(json.dumps(candidate.as_dict())))
    assert again == candidate and again.lineage.window.test_start == split.test_start
    assert again.lineage.window.test_start.tzinfo is not None
    loaded = Sessions.load(split.test.save(tmp_path / "test.npz"))
    assert all(
        np.array_equal(getattr(loaded, a), getattr(split.test, a)) for a in ("vocabulary", "offsets", "items", "times")
    )


def test_an_earlier_search_stands_in_only_for_the_same_question_and_recent_data(tmp_path):
    settings = offline_settings(tmp_path)  # KAIZEN_RETUNE_DAYS 7
    until = pd.Timestamp("2026-03-01", tz="UTC")
    search = tracking.Search("5", "slist", {"alpha": 0.5}, "mrr_20", until)
    nightly = TrainOptions(tune=None)

    def holds(options=nightly, days_later=3.0, previous=search) -> bool:
        return search_still_holds(previous, settings, options, until + pd.Timedelta(days=days_later))

    assert holds()
    assert not holds(days_later=8), "older than KAIZEN_RETUNE_DAYS"
    assert not holds(days_later=-1), "a search that saw this run's test window"
    assert not holds(dataclasses.replace(nightly, trigger_reason="drift")), "monitoring asks for a new search"
    assert not holds(dataclasses.replace(nightly, model="vstan")), "another family pinned"
    assert holds(dataclasses.replace(nightly, model="slist"))
    assert not holds(dataclasses.replace(nightly, policy=GatePolicy(primary="hr_20"))), "another metric"
