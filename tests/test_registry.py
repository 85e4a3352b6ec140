"""The registry's rules (kaizen.registry.champion) on a real MLflow registry (a local store):
only "not set" means no champion, alias moves are compare-and-set, a failed verification rolls
back whatever the error, and a rollback never undoes another run's promotion."""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mlflow import MlflowClient

from kaizen.config import CHAMPION_ALIAS, Settings
from kaizen.errors import AliasMoved, RegistryError, RolloutError
from kaizen.registry import champion, gate, retention, tags
from kaizen.serving import rollout

NAME = "registry-test"


@pytest.fixture
def registry(tmp_path):
    """A local MLflow registry with versions 1 to 3 of NAME, v1 the champion."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    client.create_registered_model(NAME)
    for _ in range(3):
        client.create_model_version(NAME, source=str(tmp_path))
    client.set_registered_model_alias(NAME, CHAMPION_ALIAS, "1")
    return uri, client


class Failing(BaseHTTPRequestHandler):
    """An MLflow server that answers every call with ``status``."""

    status = 503

    def do_GET(self):
        body = json.dumps({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "down"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status", [403, 500, 503])
def test_a_registry_that_cannot_answer_is_not_a_missing_champion(status, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    handler = type("Handler", (Failing,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(RegistryError, match=f"could not read {NAME}@champion"):
            champion.champion_version(f"http://127.0.0.1:{server.server_port}", NAME)
    finally:
        server.shutdown()


def test_only_an_unset_alias_means_no_champion(registry):
    uri, client = registry
    assert champion.champion_version(uri, NAME) == "1"
    assert champion.champion_version(uri, "no-such-model") is None
    client.delete_registered_model_alias(NAME, CHAMPION_ALIAS)
    assert champion.champion_version(uri, NAME) is None


def test_a_promotion_judged_against_an_old_champion_changes_nothing(registry):
    """Two challengers judged against v1; the second to apply finds v2 in place and must not
    replace it: the champion always replaced the version its recorded comparison names."""
    uri, client = registry
    metrics = {"mrr_20": 0.5, "hr_20": 0.7}
    old = {"mrr_20": 0.4, "hr_20": 0.7}
    first = gate.decide(metrics, old, gate.GatePolicy(), champion_version="1")
    second = gate.decide({**metrics, "mrr_20": 0.6}, old, gate.GatePolicy(), champion_version="1")
    gate.apply(uri, NAME, "2", first)
    with pytest.raises(AliasMoved, match="is v2, not v1"):
        gate.apply(uri, NAME, "3", second)
    now = client.get_model_version_by_alias(NAME, CHAMPION_ALIAS)
    assert str(now.version) == "2"
    assert now.tags[tags.PREVIOUS_CHAMPION] == now.tags["kaizen.gate.compared_with"] == "1"
    stale = client.get_model_version(NAME, "3").tags
    assert stale["kaizen.gate.decision"] == "stale" and "is v2, not v1" in stale["kaizen.gate.reason"]


def stack_settings(tmp_path, uri: str) -> Settings:
    settings = Settings.from_env({"KAIZEN_HOME": str(tmp_path / "home"), "KAIZEN_LAKE_DIR": str(tmp_path / "lake")})
    # No model server listens here: the rollback's wait for it fails fast, and is reported.
    return dataclasses.replace(
        settings, mlflow_tracking_uri=uri, model_name=NAME, model_server_url="http://127.0.0.1:9", deploy_timeout_s=1
    )


def test_any_error_during_verification_rolls_back(registry, tmp_path, monkeypatch):
    uri, client = registry

    def verify(settings, version):
        raise KeyError("model_version")  # not one of the errors a roll-out expects

    monkeypatch.setattr(rollout, "verify", verify)
    with pytest.raises(RolloutError, match=r"version 2 failed verification: KeyError: 'model_version'\. Rolled back"):
        rollout.deploy(stack_settings(tmp_path, uri), "2")
    assert str(client.get_model_version_by_alias(NAME, CHAMPION_ALIAS).version) == "1"
    failed = client.get_model_version(NAME, "2").tags
    # The alias went back, but no model server confirmed it: not recorded as a rollback that worked.
    assert "KeyError" in failed[tags.FAILED] and tags.ROLLED_BACK_TO not in failed
    assert tags.PREVIOUS_CHAMPION not in client.get_model_version(NAME, "1").tags


def test_a_rollback_never_undoes_a_promotion_made_meanwhile(registry, tmp_path, monkeypatch):
    uri, client = registry

    def verify(settings, version):
        champion.move_champion(uri, NAME, "3", expected="2")  # another run promotes v3 meanwhile
        raise TimeoutError("no answer")

    monkeypatch.setattr(rollout, "verify", verify)
    with pytest.raises(RolloutError, match=r"Not rolled back: .* is v3, not v2"):
        rollout.deploy(stack_settings(tmp_path, uri), "2")
    assert str(client.get_model_version_by_alias(NAME, CHAMPION_ALIAS).version) == "3"


def test_retention_deletes_only_old_refused_versions_no_alias_names(registry):
    uri, client = registry
    for version in ("2", "3"):
        client.set_model_version_tag(NAME, version, tags.DECISION, "refused")
    champion.keep_as_challenger(uri, NAME, "3")  # still @challenger: kept whatever its age
    created = max(int(client.get_model_version(NAME, v).creation_timestamp) for v in ("1", "2", "3"))
    day_ms = 86_400_000

    assert retention.archive_refused(uri, NAME, 30, now_ms=created + 29 * day_ms) == [], "not old enough"
    assert retention.archive_refused(uri, NAME, 0, now_ms=created + 400 * day_ms) == [], "0 keeps them all"
    assert retention.archive_refused(uri, NAME, 30, now_ms=created + 31 * day_ms) == ["2"]
    assert sorted(str(mv.version) for mv in client.search_model_versions(f"name='{NAME}'")) == ["1", "3"]
    assert champion.champion_version(uri, NAME) == "1"
    assert retention.archive_refused(uri, "never-registered", 30) == []


def test_a_registry_error_during_the_gate_fails_it_and_moves_nothing(registry, tmp_path, monkeypatch):
    """The champion cannot be read (here: the strict reader's error, as a 503 raises it): the
    gate fails before deciding, @champion stays, the candidate carries no decision."""
    import pandas as pd

    from kaizen.models import Markov, Sessions
    from kaizen.training import champion_gate
    from kaizen.training.lineage import Lineage, TrainingWindow
    from kaizen.training.options import TrainOptions
    from kaizen.training.train import Candidate, gate_candidate

    uri, client = registry
    sessions = Sessions.from_events([0, 0, 1, 1], ["a", "b", "a", "b"], [1, 2, 3, 4])
    now = pd.Timestamp.now(tz="UTC")
    window = TrainingWindow(now, now, now, 2, 2, 2, "digest")
    run = client.create_run(client.create_experiment("gate-error", artifact_location=tmp_path.as_uri()))
    candidate = Candidate(
        run.info.run_id,
        "2",
        Lineage("markov", {}, window, "recommender_v1", "test"),
        {"mrr_20": 1.0, "hr_20": 1.0},
        model=Markov().fit(sessions),
        test=sessions,
    )

    def unreadable(tracking_uri, name):
        raise RegistryError(f"could not read {name}@champion: 503 TEMPORARILY_UNAVAILABLE")

    monkeypatch.setattr(champion_gate, "champion_version", unreadable)
    with pytest.raises(RegistryError, match="could not read"):
        gate_candidate(stack_settings(tmp_path, uri), TrainOptions(model="markov"), candidate)
    assert champion.champion_version(uri, NAME) == "1"
    assert tags.DECISION not in client.get_model_version(NAME, "2").tags
