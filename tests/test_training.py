"""Training against a real MLflow: registration, plots and model card, the champion gate."""

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from mlflow import MlflowClient

from conftest import RETAILROCKET
from kaizen import lake
from kaizen.features import engineering
from kaizen.features import store as fstore
from kaizen.ingest import source
from kaizen.registry.gate import GatePolicy, decide, force
from kaizen.shop.loaders import read_retailrocket
from kaizen.training.train import TrainOptions, train_recommender

pytestmark = pytest.mark.stack


def write_lake(lake_dir, events) -> None:
    events = events.assign(event_id=np.arange(len(events)), recorded_at=events["occurred_at"])
    table = pa.Table.from_pandas(events[source.SOURCE_SCHEMA.names], schema=source.SOURCE_SCHEMA, preserve_index=False)
    days = sorted(set(events["occurred_at"].dt.date))
    lake.replace_days(table, lake_dir, days, pc.cast(pc.cast(table["occurred_at"], pa.date32()), pa.string()))


def with_features(settings, lake_dir, feast_db, home):
    """Settings for a lake whose features are computed and registered in a Feast of its own."""
    settings = dataclasses.replace(settings, lake_dir=lake_dir, feast_db_url=feast_db, home=home)
    engineering.build(lake_dir)
    fstore.apply(fstore.feature_store(settings), lake_dir)
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

    better = train_recommender(clean, TrainOptions(model="sr"))
    assert better["promoted"], better["reason"]
    assert client.get_model_version_by_alias("gate-test", "champion").version == better["version"]

    bad = with_features(base, tmp_path / "bad", fresh_db, tmp_path / "home")
    worse = train_recommender(bad, TrainOptions(model="sr"))
    assert not worse["promoted"]
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


def test_force_promote_needs_a_reason_and_records_it(stack, rr_events, fresh_db, tmp_path):
    write_lake(tmp_path / "lake", rr_events)
    base = dataclasses.replace(stack, model_name="force-test", experiment="force-test")
    settings = with_features(base, tmp_path / "lake", fresh_db, tmp_path / "home")
    train_recommender(settings, TrainOptions(model="sr"))
    with pytest.raises(ValueError, match="force_reason"):
        train_recommender(settings, TrainOptions(model="popularity", force_promote=True))
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
    assert not refused.promote and "hr_20 drops" in refused.reason
    with pytest.raises(ValueError):
        force(refused, "  ")
