"""The embedded stack end to end: kaizen_e2e triggered over Airflow's REST API, served over HTTP."""

import json
import subprocess
from datetime import UTC

import pytest
import requests

from conftest import run_kaizen
from kaizen.config import Settings
from kaizen.registry.champion import champion_version
from kaizen.serving.client import ModelServerClient

pytestmark = pytest.mark.stack


def test_served_version_is_mlflow_champion(stack, e2e_run):
    champion = champion_version(stack.mlflow_tracking_uri, stack.model_name)
    assert champion is not None
    client = ModelServerClient(stack.model_server_url)
    client.wait_for_version(champion, timeout_s=30)
    answer = client.recommend(["461686", "257040"], k=20)
    assert answer.model_version == champion
    assert len(answer.items) == 20


def test_the_pipelines_task_logs_hold_no_error_line(stack, e2e_run):
    """MLflow's and Feast's progress reaches the task log at INFO: an ERROR line is an error."""
    from kaizen.stack.demo import DAG_ID, airflow_client

    client = airflow_client(stack)
    for task_id in client.task_states(DAG_ID, e2e_run):
        log = client.task_log(DAG_ID, e2e_run, task_id, lines=10_000)
        errors = [line for line in log.splitlines() if line.startswith("error ")]
        assert not errors, f"{task_id}: {errors}"


def test_the_gate_and_deploy_ran_in_the_one_slot_registry_pool(stack, e2e_run):
    """The pool infra/docker/airflow-pools.sh creates, as the real scheduler used it."""
    from kaizen.config import REGISTRY_POOL
    from kaizen.stack.demo import DAG_ID, airflow_client

    client = airflow_client(stack)
    assert client.request("GET", f"/pools/{REGISTRY_POOL}")["slots"] == 1
    tasks = client.request("GET", f"/dags/{DAG_ID}/dagRuns/{e2e_run}/taskInstances")["task_instances"]
    pools = {t["task_id"]: t["pool"] for t in tasks}
    assert pools["gate"] == pools["deploy"] == REGISTRY_POOL and pools["train"] == "default_pool"


def test_a_refused_gate_deploys_nothing_and_leaves_the_champion_alone(stack, e2e_run):
    """kaizen_e2e again with a weaker family: the gate keeps it as @challenger and deploy skips,
    so a healthy champion is not re-verified (and never rolled back on a blip)."""
    from kaizen.stack.demo import DAG_ID, airflow_client

    client = airflow_client(stack)
    before = champion_version(stack.mlflow_tracking_uri, stack.model_name)
    run_id = client.trigger(DAG_ID, {"model": "popularity", "test_days": 2.0})
    assert client.wait_for_run(DAG_ID, run_id, timeout_s=600) == "success"
    states = client.task_states(DAG_ID, run_id)
    assert (states["train"], states["gate"], states["deploy"]) == ("success", "skipped", "skipped")
    note = client.request("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")["note"]
    assert "kept as @challenger" in note and f"champion v{before}" in note, note
    assert champion_version(stack.mlflow_tracking_uri, stack.model_name) == before


def test_status_reports_every_service_healthy(stack, stack_env, e2e_run):
    result = run_kaizen(stack_env, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    for service in ("postgres", "mlflow", "airflow-api-server", "airflow-scheduler", "model-server"):
        assert f"ok    {service}" in result.stdout


def test_the_pipeline_read_the_shop_as_a_select_only_login(stack, stack_env, e2e_run):
    """kaizen_e2e ingested through shop_reader: it can change nothing in the shop's database,
    and Kaizen's own tables are in Kaizen's database, not the shop's."""
    import psycopg2

    assert "shop_reader:" in stack.shop_db_url
    result = run_kaizen(stack_env, "shop", "check", "--days", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the login can only read" in result.stdout
    with psycopg2.connect(stack.shop_db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        assert [t for (t,) in cur.fetchall()] == ["events", "products", "schema_migrations"]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("INSERT INTO events (session_id) VALUES ('kaizen-must-not-write')")
    conn.close()
    with psycopg2.connect(stack.kaizen_db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM ingest_runs WHERE finished_at IS NOT NULL")
        assert cur.fetchone()[0] >= 1
    conn.close()


def test_a_product_page_never_shows_the_item_being_viewed(stack, e2e_run):
    client = ModelServerClient(stack.model_server_url)
    session = ["461686", "257040"]
    assert "257040" not in client.recommend(session, k=20, placement="product_page").items
    assert not set(session) & set(client.recommend(session, k=20, placement="cart").items)


def test_recommend_command(stack_env, e2e_run):
    result = run_kaizen(stack_env, "recommend", "--items", "461686,257040", "--k", "5")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["items"]) == 5


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"jsonData": {"items": []}}',
        b'{"jsonData": {"items": ["1"], "k": 1000}}',
        b'{"jsonData": {"items": ["1"], "colour": "red"}}',
        b'{"jsonData": {"items": ["1"], "k": "twenty"}}',
        b'{"jsonData": {"items": [null]}}',
        b'{"data": {"ndarray": [["1"], ["2"]]}}',
        b'{"jsonData": {"items": ["1"], "session_id": ""}}',
        b'{"jsonData": {"items": [' + b",".join([b'"1"'] * 200_000) + b"]}}",  # ~1 MB
        b"",
    ],
    ids=[
        "malformed-json",
        "empty-session",
        "k-out-of-range",
        "unknown-field",
        "k-not-a-number",
        "null-item",
        "two-sessions",
        "empty-session-id",
        "oversized",
        "empty-body",
    ],
)
def test_bad_requests_get_4xx(stack, e2e_run, body):
    response = requests.post(
        f"{stack.model_server_url}/api/v1.0/predictions",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert 400 <= response.status_code < 500, response.text
    if body:  # seldon-core's error shape, whichever path answered
        assert response.json()["status"]["status"] == 1 and response.json()["status"]["info"]


def test_the_fast_path_and_flask_answer_alike(stack, e2e_run):
    """A browser's request (with an Origin) goes through seldon-core's Flask app, which adds
    the CORS headers; a server's takes the fast path (kaizen.serving.rest_fast_path)."""
    url = f"{stack.model_server_url}/api/v1.0/predictions"
    body = {"jsonData": {"items": ["461686", "257040"], "k": 10, "placement": "product_page"}}
    fast = requests.post(url, json=body, timeout=5)
    flask = requests.post(url, json=body, headers={"Origin": "https://shop.example"}, timeout=5)
    assert fast.status_code == flask.status_code == 200
    assert fast.json()["jsonData"] == flask.json()["jsonData"]
    assert fast.json()["meta"]["tags"] == flask.json()["meta"]["tags"]
    assert fast.headers["Content-Type"] == flask.headers["Content-Type"] == "application/json"
    assert "Access-Control-Allow-Origin" in flask.headers
    chunked = requests.post(  # no Content-Length: Flask reads it
        url, data=iter([json.dumps(body).encode()]), headers={"Content-Type": "application/json"}, timeout=5
    )
    assert chunked.status_code == 200 and chunked.json()["jsonData"] == fast.json()["jsonData"]
    bad = {"jsonData": {"items": ["1"], "k": 0}}
    for headers in ({}, {"Origin": "https://shop.example"}):
        answer = requests.post(url, json=bad, headers=headers, timeout=5)
        assert answer.status_code == 400 and answer.json()["status"]["reason"] == "BAD_REQUEST"


def test_grpc_gives_the_rest_answer(stack, e2e_run):
    """seldon-core's gRPC endpoint (a SeldonMessage with jsonData) answers like REST. The client
    runs in the serving environment, which has seldon-core's protobuf stubs."""
    body = {"items": ["461686", "257040"], "k": 5}
    client = (
        "import json, sys, grpc; from google.protobuf import json_format; "
        "from seldon_core.proto import prediction_pb2, prediction_pb2_grpc; "
        "stub = prediction_pb2_grpc.ModelStub(grpc.insecure_channel(sys.argv[1])); "
        "message = json_format.ParseDict({'jsonData': json.loads(sys.argv[2])}, prediction_pb2.SeldonMessage()); "
        "print(json.dumps(json_format.MessageToDict(stub.Predict(message, timeout=10))))"
    )
    out = subprocess.run(
        [
            str(Settings.from_env().serving_venv / "bin" / "python"),
            "-c",
            client,
            f"{stack.host}:{stack.serving_grpc_port}",
            json.dumps(body),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    over_grpc = json.loads(out)
    over_rest = requests.post(
        f"{stack.model_server_url}/api/v1.0/predictions", json={"jsonData": body}, timeout=5
    ).json()
    assert over_grpc["jsonData"]["items"] == over_rest["jsonData"]["items"]
    assert over_grpc["meta"]["tags"] == over_rest["meta"]["tags"]


def test_serving_environment_is_isolated():
    python = Settings.from_env().serving_venv / "bin" / "python"
    probe = (
        "import importlib.util, numpy, seldon_core.version as v; "
        "print(numpy.__version__, v.__version__, "
        "[m for m in ('mlflow', 'airflow', 'feast', 'pandas') if importlib.util.find_spec(m)])"
    )
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "1.26.4" and out[1] == "1.18.2"
    assert out[2] == "[]"


def test_ingest_dag_runs_an_interval_and_backfills_from_the_cli(stack, stack_env, e2e_run):
    from kaizen.stack.demo import airflow_client

    client = airflow_client(stack)
    client.wait_for_dag("ingest_shop_events")
    client.unpause("ingest_shop_events")
    run = client.request(
        "POST",
        "/dags/ingest_shop_events/dagRuns",
        json={"logical_date": "2015-09-14T00:00:00Z", "conf": {"lateness_hours": 24, "max_bad_rate": 0.05}},
    )
    assert client.wait_for_run("ingest_shop_events", run["dag_run_id"], timeout_s=300) == "success"
    report = client.request(
        "GET", f"/dags/ingest_shop_events/dagRuns/{run['dag_run_id']}/taskInstances/ingest/xcomEntries/return_value"
    )["value"]
    assert report["rows_read"] > 0 and report["first_day"] == "2015-09-12"

    backfill = run_kaizen(
        stack_env,
        "airflow",
        "backfill",
        "create",
        "--dag-id",
        "ingest_shop_events",
        "--from-date",
        "2015-09-16",
        "--to-date",
        "2015-09-17",
    )
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    runs = client.request("GET", "/dags/ingest_shop_events/dagRuns", params={"run_type": "backfill"})["dag_runs"]
    assert runs, "the backfill created no runs"
    for backfilled in runs:
        assert client.wait_for_run("ingest_shop_events", backfilled["dag_run_id"], timeout_s=300) == "success"


def test_every_prediction_is_logged_for_monitoring(stack, e2e_run):
    import time

    import psycopg2

    client = ModelServerClient(stack.model_server_url)
    answer = client.recommend(["461686", "257040"], k=5, session_id="monitored-session")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with psycopg2.connect(stack.kaizen_db_url) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT items, recommended, model_version FROM prediction_log WHERE session_id = %s",
                ("monitored-session",),
            )
            rows = cur.fetchall()
        conn.close()
        if rows:
            break
        time.sleep(0.5)
    assert rows == [(["461686", "257040"], answer.items, answer.model_version)]


def test_a_category_placement_shows_only_that_category(stack, e2e_run):
    import psycopg2

    url = f"{stack.model_server_url}/api/v1.0/predictions"
    body = {"jsonData": {"items": ["461686", "257040"], "k": 10}}
    answer = requests.post(url, json=body, timeout=5).json()["jsonData"]
    assert answer["features"] == "online"
    with psycopg2.connect(stack.shop_db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT item_id, category_id FROM products")
        category_of = dict(cur.fetchall())
    conn.close()
    category = category_of[answer["items"][0]]
    placement = {**body["jsonData"], "placement": "category_page", "category": category}
    in_category = requests.post(url, json={"jsonData": placement}, timeout=5).json()["jsonData"]
    assert in_category["items"] and in_category["features"] == "online"
    assert {category_of[i] for i in in_category["items"]} == {category}


def test_an_unavailable_item_leaves_answers_within_the_bound_and_stays_out_through_an_outage(stack, e2e_run):
    """An availability change written to Feast's online store (as a catalogue push would write
    it) leaves the answers within KAIZEN_ITEM_MAX_AGE_S; with the feature server gone the
    last snapshot keeps filtering, answers say "stale" and the server is not ready; with it
    back, answers are fresh again. A spare candidate takes the dropped item's place."""
    import time
    from datetime import datetime

    import pandas as pd
    from feast import FeatureStore

    from kaizen.stack.supervisor import Supervisor

    url = f"{stack.model_server_url}/api/v1.0/predictions"
    body = {"jsonData": {"items": ["461686", "257040"], "k": 10}}

    def answer() -> dict:
        return requests.post(url, json=body, timeout=5).json()["jsonData"]

    def wait_for(predicate, timeout_s: float) -> tuple[dict, float]:
        started = time.monotonic()
        latest = answer()
        while not predicate(latest) and time.monotonic() - started < timeout_s:
            time.sleep(0.2)
            latest = answer()
        return latest, time.monotonic() - started

    before = answer()
    assert before["features"] == "online"
    gone = before["items"][0]

    store = FeatureStore(repo_path=str(stack.feast_repo_dir))
    fields = ["category_id", "price", "available", "first_seen"]
    row = store.get_online_features(
        features=[f"item_catalog:{f}" for f in fields], entity_rows=[{"item_id": gone}]
    ).to_dict()
    assert row["available"] == [True]

    def write(available: bool) -> None:
        values = {**{f: row[f] for f in fields}, "available": [available]}
        stamp = pd.Timestamp(datetime.now(UTC))
        store.write_to_online_store(
            "item_catalog", pd.DataFrame({"item_id": [gone], **values, "event_timestamp": [stamp]})
        )

    supervisor = Supervisor(stack.home)
    write(False)
    try:
        after, took_s = wait_for(lambda a: gone not in a["items"], stack.item_max_age_s * 2)
        assert gone not in after["items"] and took_s <= stack.item_max_age_s
        assert after["features"] == "online" and after["items"][:9] == before["items"][1:]

        supervisor.stop("feature-server")
        try:
            stale, _ = wait_for(lambda a: a["features"] == "stale", stack.item_max_age_s * 3)
            assert stale["features"] == "stale" and stale["items"] == after["items"]  # still filtered
            status = requests.get(f"{stack.model_server_url}/health/status", timeout=5)
            assert status.status_code == 503 and status.json()["status"]["reason"] == "FEATURES_NOT_READY"
        finally:
            supervisor.start("feature-server")
        fresh, _ = wait_for(lambda a: a["features"] == "online", 60)
        assert fresh["features"] == "online" and fresh["items"] == after["items"]
    finally:
        write(True)
    back, _ = wait_for(lambda a: a["items"] == before["items"], stack.item_max_age_s * 2)
    assert back["items"] == before["items"]


def test_a_model_server_started_without_the_feature_server_serves_and_says_so(stack, e2e_run):
    """It boots, answers unfiltered ("fallback") and not ready, and filters once the feature
    server is back, with nothing restarted by hand."""
    import time

    from kaizen.stack.supervisor import Supervisor

    url = f"{stack.model_server_url}/api/v1.0/predictions"
    body = {"jsonData": {"items": ["461686", "257040"], "k": 10}}

    def answer_when(predicate, timeout_s: float = 60) -> requests.Response:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                response = requests.post(url, json=body, timeout=5)
                if predicate(response) or time.monotonic() > deadline:
                    return response
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.3)

    supervisor = Supervisor(stack.home)
    supervisor.stop("feature-server")
    try:
        supervisor.stop("model-server")
        supervisor.start("model-server")
        unfiltered = answer_when(lambda r: r.status_code == 200)
        assert unfiltered.status_code == 200 and unfiltered.json()["jsonData"]["features"] == "fallback"
        assert len(unfiltered.json()["jsonData"]["items"]) == 10
        status = requests.get(f"{stack.model_server_url}/health/status", timeout=5)
        assert status.status_code == 503 and status.json()["status"]["reason"] == "FEATURES_NOT_READY"
        assert "never loaded" in status.json()["status"]["info"]
    finally:
        supervisor.start("feature-server")
    filtered = answer_when(lambda r: r.status_code == 200 and r.json()["jsonData"]["features"] == "online")
    assert filtered.json()["jsonData"]["features"] == "online"
    ready_by = time.monotonic() + 5  # every worker: the others read the loader's snapshot within a second
    while requests.get(f"{stack.model_server_url}/health/status", timeout=5).status_code != 200:
        assert time.monotonic() < ready_by, "a worker stayed not ready with the feature server back"
        time.sleep(0.2)


def test_a_postgresql_restart_under_load_is_seen_by_every_health_check_and_needs_no_hand(stack, stack_env, e2e_run):
    """PostgreSQL goes away under load: every component's health check says so, answers keep
    the last snapshot's filters, and once PostgreSQL is back answers are fresh again within
    the staleness bound, and every answer reaches the prediction log, with nothing restarted
    by hand."""
    import itertools
    import threading
    import time

    import psycopg2

    from kaizen.stack.supervisor import Supervisor

    url = f"{stack.model_server_url}/api/v1.0/predictions"
    answers: list[tuple[float, int, str]] = []  # (when, HTTP status, features)
    stop = threading.Event()
    sessions = itertools.count()

    def load() -> None:
        http = requests.Session()
        while not stop.is_set():
            body = {"jsonData": {"items": ["461686", "257040"], "k": 10, "session_id": f"pg-restart-{next(sessions)}"}}
            response = http.post(url, json=body, timeout=10)
            features = response.json()["jsonData"]["features"] if response.status_code == 200 else ""
            answers.append((time.monotonic(), response.status_code, features))

    def logged() -> int:
        with psycopg2.connect(stack.kaizen_db_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(DISTINCT session_id) FROM prediction_log WHERE session_id LIKE 'pg-restart-%'")
            count = cur.fetchone()[0]
        conn.close()
        return count

    def failing() -> set[str]:
        lines = run_kaizen(stack_env, "status").stdout.splitlines()
        return {line.split()[1] for line in lines if line.startswith("FAIL")}

    # Every model-server worker filters before the outage (an earlier test restarted the
    # feature server): twenty answers in a row with online features.
    ready_by = time.monotonic() + 60
    body = {"jsonData": {"items": ["461686", "257040"], "k": 10}}

    def features_of_twenty() -> list[str]:
        return [requests.post(url, json=body, timeout=10).json()["jsonData"]["features"] for _ in range(20)]

    while features_of_twenty() != ["online"] * 20:
        assert time.monotonic() < ready_by, "the model server's workers do not all filter with online features"
        time.sleep(0.5)
    supervisor = Supervisor(stack.home)
    workers = [threading.Thread(target=load) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(2)
        supervisor.stop("postgres")
        time.sleep(stack.item_max_age_s + 2)
        down = failing()
        supervisor.start("postgres")
        back_at = time.monotonic()
        while time.monotonic() - back_at < 60 and not [a for a in answers if a[0] > back_at and a[2] == "online"]:
            time.sleep(0.2)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        supervisor.start("postgres")  # in case the test failed before starting it
        # Airflow's components exit without their database; supervisord restarts them.
        healthy_by = time.monotonic() + 180
        while failing() and time.monotonic() < healthy_by:
            time.sleep(2)

    assert {"postgres", "mlflow", "airflow-api-server", "feature-server", "model-server"} <= down
    assert {status for _, status, _ in answers} == {200}
    assert {features for _, _, features in answers} == {"online", "stale"}  # never unfiltered
    fresh_after_s = min(when for when, _, features in answers if when > back_at and features == "online") - back_at
    assert fresh_after_s <= stack.item_max_age_s
    assert not failing()
    logged_by = time.monotonic() + 30  # rows kept through the outage are sent once a second
    while logged() < len(answers) and time.monotonic() < logged_by:
        time.sleep(1)
    assert logged() == len(answers)  # not one answer lost to the restart


def test_model_server_exports_prediction_metrics_to_prometheus(stack, e2e_run):
    import time

    champion = champion_version(stack.mlflow_tracking_uri, stack.model_name)
    client = ModelServerClient(stack.model_server_url)
    for _ in range(4):
        client.recommend(["461686", "257040"], k=5)
    metrics_url = f"http://{stack.host}:{stack.serving_metrics_port}/metrics"
    deadline, text = time.monotonic() + 15, ""
    while time.monotonic() < deadline and "kaizen_predict_seconds_count" not in text:
        time.sleep(0.5)  # workers publish once a second (kaizen.serving.seldon_metrics)
        text = requests.get(metrics_url, timeout=5).text
    counts = [
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("kaizen_predict_seconds_count")
    ]
    assert sum(counts) >= 4, text[-2000:]
    versions = {
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("kaizen_served_model_version")
    }
    assert float(champion) in versions  # per worker: one that took none of these requests may lag
    # Labels that say what answered, not seldon-core's NOT_IMPLEMENTED placeholders.
    assert "NOT_IMPLEMENTED" not in text
    answered = [line for line in text.splitlines() if line.startswith("kaizen_predict_seconds_count")]
    assert any(
        f'model_name="{stack.model_name}"' in line
        and f'model_version="{champion}"' in line
        and 'deployment_name="model-server"' in line
        for line in answered
    ), answered


def test_a_scheduler_killed_mid_run_leaves_the_run_to_finish_after_its_restart(stack, e2e_run):
    """kill -9 of the scheduler while a task runs: supervisord restarts it, and the run
    finishes (the task completes, or is found dead and retried)."""
    import contextlib
    import os
    import signal
    import time

    import psutil

    from kaizen.stack.demo import airflow_client
    from kaizen.stack.supervisor import Supervisor

    client = airflow_client(stack)
    client.wait_for_dag("materialize_features")
    client.unpause("materialize_features")
    run_id = client.trigger("materialize_features")
    deadline = time.monotonic() + 300
    while client.task_states("materialize_features", run_id).get("refresh") != "running":
        assert time.monotonic() < deadline, client.task_states("materialize_features", run_id)
        time.sleep(0.5)
    supervisor = Supervisor(stack.home)
    killed = supervisor.program_pid("airflow-scheduler")
    # Its LocalExecutor workers outlive it (idle, ignoring SIGTERM): killed after the test.
    orphans = psutil.Process(killed).children(recursive=True)
    os.kill(killed, signal.SIGKILL)
    try:
        assert client.wait_for_run("materialize_features", run_id, timeout_s=900) == "success"
        assert supervisor.state("airflow-scheduler") == "RUNNING"
        assert supervisor.program_pid("airflow-scheduler") != killed
    finally:
        for orphan in orphans:
            with contextlib.suppress(psutil.NoSuchProcess):
                orphan.kill()
