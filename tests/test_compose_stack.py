"""The production stack for real: docker-compose.yml built, started and driven through a run.

One stack for the module, on free loopback ports and its own project name: images built from
infra/docker/ (on podman, over local stand-ins for the public base images that
tests/compose/standins/build.sh makes from Debian's packages and PyPI), every service healthy,
a public event log loaded with the README's command, kaizen_e2e triggered over Airflow's REST
API, a recommendation from the registered champion over HTTP; then faults, then ``down -v``.

Without a container engine the module skips, unless KAIZEN_COMPOSE_REQUIRED=1 (.ci/run).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from kaizen.airflow_api import AirflowClient
from kaizen.config import CHAMPION_ALIAS, PROJECT_DIR, REGISTRY_POOL, read_env_file
from kaizen.errors import ModelServerError
from kaizen.serving.client import ModelServerClient
from kaizen.stack.compose import LOAD_DEMO_EVENTS, ComposeStack, find_engine, required_secrets, write_env
from kaizen.stack.postgres import free_port

pytestmark = pytest.mark.compose

STANDINS = PROJECT_DIR / "tests" / "compose" / "standins" / "build.sh"
PORTS = (
    "KAIZEN_AIRFLOW_PORT",
    "KAIZEN_MLFLOW_PORT",
    "KAIZEN_SERVING_PORT",
    "KAIZEN_SERVING_GRPC_PORT",
    "KAIZEN_SERVING_METRICS_PORT",
)


def say(text: str) -> None:
    print(text, flush=True)


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> ComposeStack:
    engine = find_engine()
    if engine is None:
        if os.environ.get("KAIZEN_COMPOSE_REQUIRED") == "1":
            pytest.fail("KAIZEN_COMPOSE_REQUIRED=1 but neither docker (with compose) nor podman-compose works here")
        pytest.skip("no container engine: install docker, or podman and podman-compose (tests/compose/setup-engine.sh)")
    overrides = {name: str(free_port()) for name in PORTS}
    overrides["KAIZEN_SERVING_POLL_S"] = "2"
    # Latency budgets are for benchmarks; a busy CI machine must not fail roll-outs on them.
    overrides["KAIZEN_DEPLOY_P99_BUDGET_MS"] = "2000"
    if os.environ.get("KAIZEN_COMPOSE_STANDINS", "1" if engine == "podman" else "0") == "1":
        say("building stand-ins for the public images ...")
        built = subprocess.run(["bash", str(STANDINS)], capture_output=True, text=True, check=True).stdout
        overrides.update(line.split("=", 1) for line in built.split() if "=" in line)
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    write_env(env_file, overrides)
    stack = ComposeStack(engine, f"kaizen-test-{os.getpid()}", env_file)
    started = time.monotonic()
    stack.run("build")
    say(f"images built in {time.monotonic() - started:.0f} s")
    try:
        stack.run("up", "-d")
        stack.wait_healthy(900, say)
        yield stack
    except Exception:
        for service in stack.containers():
            say(f"--- {service}\n{stack.logs(service, 40)}")
        raise
    finally:
        stack.run("down", "-v", timeout=600)


@pytest.fixture(scope="module")
def settings(compose) -> dict[str, str]:
    return read_env_file(compose.env_file)


def url(settings: dict[str, str], port_var: str) -> str:
    return f"http://127.0.0.1:{settings[port_var]}"


@pytest.fixture(scope="module")
def airflow(settings) -> AirflowClient:
    return AirflowClient(url(settings, "KAIZEN_AIRFLOW_PORT"), "admin", settings["KAIZEN_AIRFLOW_ADMIN_PASSWORD"])


@pytest.fixture(scope="module")
def e2e(compose, airflow) -> str:
    """The README's load command, then kaizen_e2e over REST: the run id."""
    compose.run(*LOAD_DEMO_EVENTS, timeout=600)
    return airflow.run("kaizen_e2e", say=say, timeout_s=1500)


def champion(settings: dict[str, str]) -> str:
    response = requests.get(
        f"{url(settings, 'KAIZEN_MLFLOW_PORT')}/api/2.0/mlflow/registered-models/alias",
        params={"name": settings["KAIZEN_MODEL_NAME"], "alias": CHAMPION_ALIAS},
        auth=(settings["MLFLOW_AUTH_ADMIN_USERNAME"], settings["MLFLOW_AUTH_ADMIN_PASSWORD"]),
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["model_version"]["version"])


def test_the_pipeline_runs_and_the_champion_serves(e2e, settings, airflow):
    answer = ModelServerClient(url(settings, "KAIZEN_SERVING_PORT")).recommend(["355908", "248676"], k=10)
    assert len(answer.items) == 10
    assert answer.model_version == champion(settings)
    # The tasks wrote their outcome on the run's page as airflow-init's API user.
    note = airflow.request("GET", f"/dags/kaizen_e2e/dagRuns/{e2e}")["note"]
    assert note.startswith(f"@{CHAMPION_ALIAS} "), note
    # airflow-init created the pool every task that moves @champion runs in, as the other stacks do.
    assert airflow.request("GET", f"/pools/{REGISTRY_POOL}")["slots"] == 1
    tasks = airflow.request("GET", f"/dags/kaizen_e2e/dagRuns/{e2e}/taskInstances")["task_instances"]
    assert {t["task_id"]: t["pool"] for t in tasks}["gate"] == REGISTRY_POOL


def test_published_ports_bind_to_loopback_only(compose):
    published = []
    for service, record in compose.containers().items():
        for bindings in (record["NetworkSettings"].get("Ports") or {}).values():
            published += [(service, b["HostIp"], b["HostPort"]) for b in bindings or []]
    assert published, "no port is published"
    assert {ip for _, ip, _ in published} == {"127.0.0.1"}, published


def test_no_secret_on_any_command_line(e2e, settings):
    """Every process on this machine, the containers' included (they share the host's /proc)."""
    secrets = {name: settings[name] for name in required_secrets()}
    leaks = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        leaks += [(pid, name) for name, value in secrets.items() if value in cmdline]
    assert not leaks, leaks


def test_files_holding_secrets_are_private(compose, e2e, settings):
    """In every running container, a file under /opt, /home, /tmp or /etc that holds a secret
    is readable by its owner only (the secrets go in on standard input, not as arguments)."""
    patterns = "\n".join(settings[name] for name in required_secrets()) + "\n"
    exposed = {}
    for service, record in compose.containers().items():
        if not record["State"].get("Running"):
            continue
        found = subprocess.run(
            [
                compose.engine,
                "exec",
                "-i",
                record["Name"].lstrip("/"),
                "sh",
                "-c",
                "grep -rlF -f /dev/stdin /opt /home /tmp /etc 2>/dev/null | xargs -r stat -c '%a %n'",
            ],
            input=patterns,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        loose = [line for line in found if line and not line.split()[0].endswith("00")]
        if loose:
            exposed[service] = loose
    assert not exposed, exposed


def in_model_server(compose: ComposeStack, code: str) -> subprocess.CompletedProcess:
    """Run Python inside the model server's container, with its own credentials."""
    return subprocess.run(
        [compose.engine, "exec", compose.container("model-server"), "python", "-c", code],
        capture_output=True,
        text=True,
    )


def test_the_model_servers_mlflow_user_cannot_move_an_alias(compose, e2e):
    result = in_model_server(
        compose,
        (
            "import os, requests; "
            "auth = (os.environ['MLFLOW_TRACKING_USERNAME'], os.environ['MLFLOW_TRACKING_PASSWORD']); "
            "base = os.environ['MLFLOW_TRACKING_URI'] + '/api/2.0/mlflow/registered-models/alias'; "
            "name = os.environ['KAIZEN_MODEL_NAME']; "
            "print(requests.get(base, params={'name': name, 'alias': 'champion'}, auth=auth).status_code, "
            "requests.post(base, json={'name': name, 'alias': 'champion', 'version': '1'}, auth=auth).status_code)"
        ),
    )
    assert result.stdout.split() == ["200", "403"], result.stdout + result.stderr


def test_the_model_servers_database_role_only_inserts_predictions(compose, e2e):
    result = in_model_server(
        compose,
        (
            "import os, psycopg2\n"
            "url = os.environ['KAIZEN_PREDICTION_LOG_DB_URL']\n"
            "conn = psycopg2.connect(url)\n"
            "for query in ('SELECT count(*) FROM prediction_log', 'SELECT count(*) FROM ingest_quarantine', "
            "'DELETE FROM prediction_log', 'DELETE FROM ingested_days'):\n"
            "    try:\n"
            "        with conn, conn.cursor() as cur: cur.execute(query)\n"
            "        print('allowed:', query)\n"
            "    except psycopg2.errors.InsufficientPrivilege:\n"
            "        print('refused')\n"
            "try:\n"
            "    psycopg2.connect(url.rsplit('/', 1)[0] + '/shop')\n"
            "    print('allowed: the shop database')\n"
            "except psycopg2.OperationalError:\n"
            "    print('refused')\n"
        ),
    )
    assert result.stdout.split() == ["refused"] * 5, result.stdout + result.stderr


def test_airflow_reads_the_shop_with_a_select_only_login(compose, e2e):
    """What the workers ingest with: `kaizen shop check` finds the mapping fits and the login
    can change nothing in the shop's database."""
    result = subprocess.run(
        [compose.engine, "exec", compose.container("airflow-worker"), "python", "-m", "kaizen", "shop", "check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the login can only read" in result.stdout
    assert "shop_reader:***@postgres:5432/shop" in result.stdout


REPLAY = """
from kaizen import lake
from kaizen.config import Settings
from kaizen.monitoring.replay import replay
settings = Settings.from_env()
events = lake.read_events(settings.lake_dir, ["session_id", "item_id", "event_type", "occurred_at"], newest_days=1)
views = events[events["event_type"] == "view"].groupby("session_id").size()
print(replay(settings.model_server_url, events[events["session_id"].isin(views[views >= 3].index[:30])]))
"""


def test_monitoring_judges_replayed_shoppers_and_grafana_reads_the_results(compose, e2e, settings, airflow):
    """monitor_recommender through Celery: the lake's shoppers replayed against the model
    server, their answers judged; Grafana's login reads the results and nothing else."""
    worker = compose.container("airflow-worker")
    replayed = subprocess.run([compose.engine, "exec", worker, "python", "-c", REPLAY], capture_output=True, text=True)
    assert replayed.returncode == 0 and int(replayed.stdout.split()[-1]) > 0, replayed.stdout + replayed.stderr
    time.sleep(3)  # the prediction log writes once a second
    airflow.unpause("monitor_recommender")
    run_id = airflow.trigger("monitor_recommender")
    assert airflow.wait_for_run("monitor_recommender", run_id, timeout_s=900) == "success"
    assert airflow.task_states("monitor_recommender", run_id)["measure"] == "success"

    def as_grafana(query: str) -> subprocess.CompletedProcess:
        """psql in the postgres container as Grafana's role; the password passes by environment."""
        psql = ["psql", "-h", "localhost", "-U", "grafana", "-d", "kaizen", "-tAc", query]
        return subprocess.run(
            [compose.engine, "exec", "-e", "PGPASSWORD", compose.container("postgres"), *psql],
            env={**os.environ, "PGPASSWORD": settings["KAIZEN_GRAFANA_DB_PASSWORD"]},
            capture_output=True,
            text=True,
        )

    judged = as_grafana("SELECT sum(answers) FROM online_quality")
    assert judged.returncode == 0 and int(judged.stdout.strip()) > 0, judged.stdout + judged.stderr
    refused = as_grafana("SELECT count(*) FROM prediction_log")
    assert refused.returncode != 0 and "permission denied" in refused.stderr


def test_a_handover_round_trip_and_the_maturity_report_run_in_containers(compose, e2e, settings, airflow):
    """As on the embedded stack: the champion exported to the handover volume and imported back
    (the gate refuses it: no gain on the same data); the weekly assessment logged to MLflow."""
    exported = airflow.run("handover_export", {"producer": "compose-test"}, say=say)
    note = airflow.request("GET", f"/dags/handover_export/dagRuns/{exported}")["note"]
    path = note.split(" exported to ", 1)[1].split(";", 1)[0]
    assert path.startswith("/opt/kaizen/handover/"), note
    imported = airflow.run("handover_import", {"bundle_path": path}, say=say)
    assert airflow.task_states("handover_import", imported) == {"verify_and_register": "success", "gate": "skipped"}

    airflow.run("maturity_report", say=say)
    airflow.request("PATCH", "/dags/maturity_report", json={"is_paused": True})  # no weekly run meanwhile
    mlflow = url(settings, "KAIZEN_MLFLOW_PORT")
    auth = (settings["MLFLOW_AUTH_ADMIN_USERNAME"], settings["MLFLOW_AUTH_ADMIN_PASSWORD"])
    experiment = requests.get(
        f"{mlflow}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "kaizen-maturity"}, auth=auth
    ).json()["experiment"]
    # Unpausing the weekly DAG may start its scheduled run too: the newest report is read.
    search = {"experiment_ids": [experiment["experiment_id"]], "order_by": ["attributes.start_time DESC"]}
    run = requests.post(f"{mlflow}/api/2.0/mlflow/runs/search", json=search, auth=auth).json()["runs"][0]
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    for criterion in ("gate", "feature_store", "registry", "monitoring"):
        assert tags[f"kaizen.maturity.{criterion}"] == "holds", tags


def test_faults_postgres_and_model_server_restart(compose, e2e, settings, airflow):
    """Answers keep coming while PostgreSQL restarts; the next run succeeds; the model
    server comes back after its own restart (a few refused requests then are fine)."""
    client = ModelServerClient(url(settings, "KAIZEN_SERVING_PORT"))
    errors: list[str] = []
    answered = [0]
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                client.recommend(["355908", "248676"], k=5, session_id="fault-test")
                answered[0] += 1
            except ModelServerError as exc:
                errors.append(str(exc))
            time.sleep(0.05)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    compose.run("restart", "postgres", timeout=300)
    compose.wait_healthy(300, say)
    time.sleep(5)
    stop.set()
    worker.join()
    assert answered[0] > 0 and not errors, (answered[0], errors[:5])

    airflow.run("kaizen_e2e", say=say, timeout_s=1500)

    compose.run("restart", "model-server", timeout=300)
    deadline = time.monotonic() + 300
    while True:
        try:
            assert client.recommend(["355908"], k=5).items
            break
        except ModelServerError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
