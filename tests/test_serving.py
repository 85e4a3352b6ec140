"""The real model server over HTTP: version switches under load, automatic rollback."""

import dataclasses
import threading
import time

import mlflow
import numpy as np
import pytest
import requests
from mlflow import MlflowClient

from kaizen.config import CHAMPION_ALIAS
from kaizen.models import Recommender
from kaizen.registry import tags
from kaizen.registry.champion import register
from kaizen.registry.pyfunc import log_recommender
from kaizen.serving.rollout import deploy
from kaizen.stack.demo import airflow_client
from kaizen.training.options import TrainOptions
from kaizen.training.train import train_recommender

pytestmark = pytest.mark.stack


class Unloadable(Recommender):
    """A model kind the serving environment does not know: its artifact cannot be loaded."""

    kind = "test-unloadable"

    def _fit(self, sessions):
        pass

    def scores(self, prefix):
        return np.zeros(len(self.vocabulary))


def register_unloadable(settings) -> str:
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_experiment("broken-models")
    model = Unloadable()
    model.vocabulary, model.popularity = np.array(["1", "2"]), np.array([1.0, 2.0])
    with mlflow.start_run():
        uri = log_recommender(model)
    return register(settings.mlflow_tracking_uri, uri, settings.model_name)


def wait_until_offered(client, version: str, timeout_s: float = 180) -> None:
    """deploy_recommender's ``version`` Param lists the registry's versions as of the DAG file's
    last parse (every 30 s or so): a version registered a moment ago is refused until then."""
    deadline = time.monotonic() + timeout_s
    while True:
        schema = client.request("GET", "/dags/deploy_recommender/details")["params"]["version"]["schema"]
        if version in schema.get("enum", []):
            return
        assert time.monotonic() < deadline, f"version {version} never appeared in deploy_recommender's form"
        time.sleep(5)


@pytest.fixture(scope="module")
def served(stack, e2e_run):
    return MlflowClient(stack.mlflow_tracking_uri).get_model_version_by_alias(stack.model_name, CHAMPION_ALIAS).version


def test_version_switch_under_load_loses_no_request(stack, served):
    # The load below slows every request; this test is about losing none, not latency.
    settings = dataclasses.replace(stack, deploy_p99_budget_ms=2_000)
    url = f"{stack.model_server_url}/api/v1.0/predictions"
    payload = {"jsonData": {"items": ["461686", "257040"], "k": 10}}
    statuses, versions, stop = [], set(), threading.Event()

    def load():
        with requests.Session() as http:
            while not stop.is_set():
                try:
                    response = http.post(url, json=payload, timeout=5)
                except requests.RequestException as exc:  # a dropped connection is a lost request
                    statuses.append(type(exc).__name__)
                    continue
                statuses.append(response.status_code)
                if response.status_code == 200:
                    versions.add(response.json()["meta"]["tags"]["model_version"])

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1)
    new = train_recommender(stack, TrainOptions(model="popularity", force_promote=True, force_reason="switch test"))
    result = deploy(settings, new["version"])
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join()
    deploy(settings, served)  # leave the stack on the e2e champion for the other tests
    assert result["version"] == new["version"]
    assert len(statuses) > 100 and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert {served, new["version"]} <= versions


def test_broken_version_is_rolled_back_and_the_dag_fails_with_the_reason(stack, served, alert_receiver):
    broken = register_unloadable(stack)
    client = airflow_client(stack)
    client.wait_for_dag("deploy_recommender")
    client.unpause("deploy_recommender")
    wait_until_offered(client, broken)
    conf = {"version": broken, "reason": "deploy drill of a broken build", "strategy": "replace", "target": "local"}
    run_id = client.trigger("deploy_recommender", conf)
    assert client.wait_for_run("deploy_recommender", run_id, timeout_s=300) == "failed"
    registry = MlflowClient(stack.mlflow_tracking_uri)
    assert registry.get_model_version_by_alias(stack.model_name, CHAMPION_ALIAS).version == served
    failed = registry.get_model_version(stack.model_name, broken).tags
    assert (
        "still serves" in failed[tags.FAILED] and failed[tags.ROLLED_BACK_TO] == served
    )  # the evidence of a worked rollback
    # Both alerts reached the webhook: the rollback, and the run's failure.
    rollback = alert_receiver.wait_for("rollback", lambda details: details["version"] == broken)
    assert rollback["details"]["restored"] == served
    alert_receiver.wait_for("failed_run", lambda details: details["run_id"] == run_id)
    assert (
        requests.get(f"{stack.model_server_url}/health/status", timeout=5).json()["meta"]["tags"]["model_version"]
        == served
    )
