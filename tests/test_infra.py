"""The production stack (docker-compose.yml, infra/docker, infra/terraform), checked statically.

No Docker engine and no cluster on these machines: the compose file is validated against the
Compose Specification (the compose-spec package) after interpolating .env.example the way
`docker compose` does, the Terraform files are parsed with python-hcl2, and checkov scans
infra/. Those tools live in their own environment, .venv/infra (requirements/infra.lock; built
by `make envs`), and run here through subprocess. On top, the checks schema validation misses,
and the test that keeps the embedded stack, compose and Terraform in step.
"""

from __future__ import annotations

import configparser
import fnmatch
import importlib.util
import json
import os
import re
import shlex
import subprocess
import uuid
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
import yaml
from psycopg2 import sql

from kaizen.config import PROJECT_DIR, Settings
from kaizen.database import migrate as migrate_kaizen
from kaizen.db_urls import component_url, with_database
from kaizen.shop.schema import migrate as migrate_shop
from kaizen.stack.compose import OPTIONAL_SECRETS, required_secrets
from kaizen.stack.embedded import resolve

COMPOSE_FILE = PROJECT_DIR / "docker-compose.yml"
COMPOSE_TEXT = COMPOSE_FILE.read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)  # PyYAML applies the `<<` merge keys
SERVICES = COMPOSE["services"]
INFRA = PROJECT_DIR / "infra"
TERRAFORM = INFRA / "terraform"
DOCKERFILES = sorted((INFRA / "docker").glob("*.Dockerfile"))
DEFAULTS = {env: default for env, default, _ in Settings.documentation()}

# Names an attribute or variable holding a secret has.
SECRET_NAME = re.compile(r"(?i)(password|secret|fernet|token|jwt)")
# The variables every Kaizen process reads, set alike by compose and Terraform (README table).
SHARED_VARIABLES = (
    "KAIZEN_SHOP_DB_URL",
    "KAIZEN_DB_URL",
    "KAIZEN_FEAST_DB_URL",
    "KAIZEN_LAKE_DIR",
    "KAIZEN_HANDOVER_DIR",
    "KAIZEN_MODEL_NAME",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "KAIZEN_MODEL_SERVER_URL",
    "KAIZEN_AIRFLOW_URL",
)
# Embedded service -> the port settings it publishes (kaizen.config.Settings).
PORT_SETTINGS = {
    "mlflow": ["KAIZEN_MLFLOW_PORT"],
    "airflow-api-server": ["KAIZEN_AIRFLOW_PORT"],
    "model-server": ["KAIZEN_SERVING_PORT", "KAIZEN_SERVING_GRPC_PORT", "KAIZEN_SERVING_METRICS_PORT"],
}
TF_PORT_KEYS = {
    "KAIZEN_MLFLOW_PORT": "port",
    "KAIZEN_AIRFLOW_PORT": "port",
    "KAIZEN_SERVING_PORT": "port",
    "KAIZEN_SERVING_GRPC_PORT": "grpc_port",
    "KAIZEN_SERVING_METRICS_PORT": "metrics_port",
}


# --- the infra environment ---------------------------------------------------------------------


def infra_venv() -> Path:
    venv = Path(os.environ.get("KAIZEN_INFRA_VENV") or PROJECT_DIR / ".venv" / "infra")
    if not (venv / "bin" / "python").exists() or not (venv / "bin" / "checkov").exists():
        pytest.fail(
            f"the infra-checks environment {venv} is missing (compose-spec, python-hcl2, checkov): "
            "run `make envs` (it builds .venv/infra from requirements/infra.lock)"
        )
    return venv


def infra_python(code: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(infra_venv() / "bin" / "python"), "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_DIR,
    )


# --- compose: interpolation as `docker compose` does it ---------------------------------------

INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, $$."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg")
        value = env.get(name)
        unset_or_empty = not value
        if op in (":-", "-"):
            return arg if (unset_or_empty if op == ":-" else value is None) else value
        if op in (":?", "?"):
            if unset_or_empty if op == ":?" else value is None:
                raise MissingVariable(f"required variable {name} is missing a value: {arg}")
            return value
        if op in (":+", "+"):
            return arg if not unset_or_empty else ""
        return value or ""

    return INTERPOLATION.sub(substitute, text)


def env_example() -> dict[str, str]:
    values = {}
    for line in (PROJECT_DIR / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def filled_env() -> dict[str, str]:
    """.env.example with every empty secret given a hex value, as its header asks."""
    return {key: value or uuid.uuid5(uuid.NAMESPACE_OID, key).hex for key, value in env_example().items()}


COMPOSE_SPEC_CHECK = """
import json, sys
import compose_spec
project = compose_spec.PyOptions(apply_merge=True).from_yaml(sys.stdin.read())
project.validate()
project.to_spec()  # the pydantic model of the full Compose Specification
print(json.dumps(sorted(project.service_names())))
"""


def test_compose_validates_against_the_compose_specification():
    result = infra_python(COMPOSE_SPEC_CHECK, stdin=interpolate(COMPOSE_TEXT, filled_env()))
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == sorted(SERVICES)


def test_compose_spec_rejects_an_invalid_file():
    """The validation above can fail: a misspelt key and a bad duration are caught."""
    broken = interpolate(COMPOSE_TEXT, filled_env()).replace("    healthcheck:\n", "    healthchek:\n", 1)
    assert infra_python(COMPOSE_SPEC_CHECK, stdin=broken).returncode != 0
    broken = interpolate(COMPOSE_TEXT, filled_env()).replace("interval: 10s", "interval: 10q", 1)
    assert infra_python(COMPOSE_SPEC_CHECK, stdin=broken).returncode != 0


def test_every_secret_is_required_with_a_message():
    """Each secret .env.example leaves empty stops `docker compose up` by name when unset."""
    secrets = required_secrets()
    empty = {key for key, value in env_example().items() if not value}
    assert secrets and set(secrets) | set(OPTIONAL_SECRETS) == empty
    for key in secrets:
        uses = re.findall(r"\$\{" + key + r"(?P<rest>[^}]*)\}", COMPOSE_TEXT)
        assert uses, f"{key} is in .env.example but docker-compose.yml never uses it"
        for rest in uses:
            assert rest.startswith(":?") and key in rest, f"${{{key}{rest}}}: a secret needs ${{{key}:?set {key} ...}}"
        env = filled_env()
        env[key] = ""
        with pytest.raises(MissingVariable, match=key):
            interpolate(COMPOSE_TEXT, env)


def test_no_plaintext_secret_in_compose():
    """Secrets and the passwords inside connection URLs are all interpolated from .env."""
    for name, service in SERVICES.items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: use the mapping form of environment"
        for key, value in environment.items():
            text = str(value)
            if SECRET_NAME.search(key):
                assert text.startswith("${"), f"{name}.{key} holds a literal secret"
            for credentials in re.findall(r"://([^/@]*)@", text):
                if ":" in credentials:
                    assert "${" in credentials.split(":", 1)[1], f"{name}.{key}: literal password in a URL"
    for key, value in env_example().items():
        if SECRET_NAME.search(key):
            assert not value, f".env.example must not carry a value for {key}"


def test_depends_on_targets_exist_and_respect_profiles():
    for name, service in SERVICES.items():
        depends = service.get("depends_on") or {}
        for target, condition in depends.items() if isinstance(depends, dict) else [(t, {}) for t in depends]:
            assert target in SERVICES, f"{name} depends on unknown {target}"
            assert target != name
            if condition.get("condition") == "service_healthy":
                assert "healthcheck" in SERVICES[target], (
                    f"{name} waits for {target} to be healthy; it has no healthcheck"
                )
            if condition.get("condition") == "service_completed_successfully":
                assert SERVICES[target].get("restart") == "no", f"{target} is waited on to finish: restart must be 'no'"
            # A service outside a profile must not need one that only runs inside it.
            extra = set(SERVICES[target].get("profiles", [])) - set(service.get("profiles", []))
            if extra and not service.get("profiles"):
                assert condition.get("required") is False, (
                    f"{name} needs {target} (profiles {extra}): mark it required: false"
                )


def test_every_long_running_service_has_a_healthcheck_and_restarts():
    for name, service in SERVICES.items():
        if service.get("restart") == "no":
            continue
        assert service.get("restart") in ("always", "unless-stopped"), f"{name} is not restarted"
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"long-running {name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_volumes_and_bind_mounts_exist():
    declared = set(COMPOSE.get("volumes") or {})
    used = set()
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (PROJECT_DIR / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert declared == used, f"declared but unused volumes: {declared - used}"


def test_build_contexts_and_dockerfiles_exist():
    built = [service["build"] for service in SERVICES.values() if "build" in service]
    assert {b["dockerfile"] for b in built} == {str(p.relative_to(PROJECT_DIR)) for p in DOCKERFILES}
    for build in built:
        context = PROJECT_DIR / build["context"]
        assert context.is_dir() and (context / build["dockerfile"]).is_file()


def test_celery_workers_scale():
    worker = SERVICES["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker, "--scale needs no fixed name or host port"
    assert worker["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_mlflow_has_basic_auth_and_clients_log_in():
    mlflow = SERVICES["mlflow"]["environment"]
    for key in ("MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY", "KAIZEN_MLFLOW_AUTH_DB_URL"):
        assert key in mlflow
    assert mlflow["KAIZEN_MLFLOW_AUTH_DB_URL"].endswith("/mlflow_auth")

    def variable(value: str) -> str:
        return re.match(r"\$\{(\w+)", value).group(1)

    for client in ("airflow-scheduler", "airflow-worker"):
        env = SERVICES[client]["environment"]
        assert variable(env["MLFLOW_TRACKING_USERNAME"]) == variable(mlflow["MLFLOW_AUTH_ADMIN_USERNAME"])
        assert variable(env["MLFLOW_TRACKING_PASSWORD"]) == variable(mlflow["MLFLOW_AUTH_ADMIN_PASSWORD"])
    # The model server reads the registry as mlflow-init's read-only user, never as the admin.
    serving = SERVICES["model-server"]["environment"]
    assert serving["MLFLOW_TRACKING_USERNAME"] == "model-server"
    assert variable(serving["MLFLOW_TRACKING_PASSWORD"]) == "KAIZEN_MLFLOW_SERVING_PASSWORD"
    assert (
        variable(SERVICES["mlflow-init"]["environment"]["KAIZEN_MLFLOW_SERVING_PASSWORD"])
        == "KAIZEN_MLFLOW_SERVING_PASSWORD"
    )
    assert (
        "mlflow[auth]" in (INFRA / "docker" / "mlflow.Dockerfile").read_text()
        or "Flask-WTF" in (INFRA / "docker" / "mlflow-image.txt").read_text()
    )


def test_monitoring_profile_scrapes_the_model_server_and_airflow():
    prometheus = yaml.safe_load((INFRA / "monitoring" / "prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert f"model-server:{DEFAULTS['KAIZEN_SERVING_METRICS_PORT']}" in targets
    assert "statsd-exporter:9102" in targets
    for target in targets - {"localhost:9090"}:
        assert target.split(":")[0] in SERVICES
    airflow = SERVICES["airflow-scheduler"]["environment"]
    assert airflow["AIRFLOW__METRICS__STATSD_HOST"] == "statsd-exporter"
    assert "profiles" not in SERVICES["statsd-exporter"], "the StatsD client resolves its host at start-up"
    for name in ("prometheus", "grafana"):
        assert SERVICES[name]["profiles"] == ["monitoring"]
    for name in ("minio", "minio-init"):
        assert SERVICES[name]["profiles"] == ["s3"]


def dashboard_sql() -> list[str]:
    """The SQL of every panel of the online-quality dashboard."""
    dashboard = json.loads((INFRA / "monitoring" / "grafana" / "dashboards" / "online-quality.json").read_text())
    return [t["rawSql"] for p in dashboard["panels"] for t in p["targets"]]


def test_grafana_reads_kaizens_database_as_its_own_login():
    provisioning = INFRA / "monitoring" / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "kaizen-db.yml").read_text())
    (source,) = datasources["datasources"]
    assert (source["url"], source["user"], source["jsonData"]["database"]) == ("postgres:5432", "grafana", "kaizen")
    assert source["secureJsonData"]["password"] == "$KAIZEN_GRAFANA_DB_PASSWORD"
    grafana_env = SERVICES["grafana"]["environment"]
    assert "KAIZEN_GRAFANA_DB_PASSWORD:?" in grafana_env["KAIZEN_GRAFANA_DB_PASSWORD"]
    assert "KAIZEN_GRAFANA_DB_PASSWORD" in SERVICES["postgres"]["environment"]
    dashboard = json.loads((INFRA / "monitoring" / "grafana" / "dashboards" / "online-quality.json").read_text())
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {source["uid"]}
    assert dashboard_sql()


def test_grafana_provisions_the_datasource_and_the_model_server_dashboard():
    grafana = INFRA / "monitoring" / "grafana"
    datasource = yaml.safe_load((grafana / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((grafana / "provisioning" / "dashboards" / "kaizen.yml").read_text())
    mount = {v.split(":")[1]: v.split(":")[0] for v in SERVICES["grafana"]["volumes"]}
    assert mount[provider["providers"][0]["options"]["path"]] == "./infra/monitoring/grafana/dashboards"
    dashboard = json.loads((grafana / "dashboards" / "model-server.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert all(t["expr"] for t in panel["targets"])
    assert any('job="model-server"' in t["expr"] for p in dashboard["panels"] for t in p["targets"])
    # The kaizen_* series it plots are the ones the model server exports.
    exprs = [re.sub(r"\{[^}]*\}", "", t["expr"]) for p in dashboard["panels"] for t in p["targets"]]  # no labels
    queried = {m for expr in exprs for m in re.findall(r"kaizen_[a-z_]+", expr)}
    exported = re.findall(
        r'"key": "(kaizen_[a-z_]+)"', (PROJECT_DIR / "plugins" / "kaizen" / "serving" / "seldon_model.py").read_text()
    )
    suffixes = ("_bucket", "_count", "_sum")
    assert {m.removesuffix(s) for m in queried for s in suffixes if m.endswith(s)} | {
        m for m in queried if not m.endswith(suffixes)
    } == set(exported)


# --- Dockerfiles ------------------------------------------------------------------------------


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def dockerignore_includes(path: str) -> bool:
    """Whether .dockerignore lets ``path`` into the build context (last matching pattern wins)."""
    patterns = [
        line.strip()
        for line in (PROJECT_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            included = negated
    return included


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_runs_as_non_root_with_a_healthcheck(dockerfile):
    steps = instructions(dockerfile)
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), f"{dockerfile.name} must end as a non-root USER"
    assert any(keyword == "HEALTHCHECK" and "CMD" in rest for keyword, rest in steps), (
        f"{dockerfile.name}: no HEALTHCHECK"
    )
    args = dict(rest.split("=", 1) for keyword, rest in steps if keyword == "ARG" and "=" in rest)
    for keyword, rest in steps:
        if keyword == "FROM":
            image = rest.split()[0]
            if image.startswith("${"):  # a build argument (a registry mirror may name another)
                image = args[image.strip("${}")]
            assert ":" in image and not image.endswith(":latest"), f"{dockerfile.name}: pin the base image ({image})"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_copies_files_that_exist_and_reach_the_context(dockerfile):
    for keyword, rest in instructions(dockerfile):
        if keyword not in ("COPY", "ADD"):
            continue
        args = [a for a in shlex.split(rest) if not a.startswith("--")]
        for source in args[:-1]:
            assert (PROJECT_DIR / source).exists(), f"{dockerfile.name} copies missing {source}"
            assert dockerignore_includes(source), f"{dockerfile.name} copies {source}, which .dockerignore leaves out"


def test_dockerignore_keeps_the_environments_out():
    for path in (".venv/orchestration/bin/python", ".kaizen/stack.env", "data/README.md", ".env", ".git/HEAD"):
        assert not dockerignore_includes(path), path


def test_airflow_image_pins_its_extra_packages():
    text = (INFRA / "docker" / "airflow-image.txt").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.\-+]+", line) for line in lines), lines
    names = {line.split("==")[0].lower() for line in lines}
    assert {"apache-airflow-providers-celery", "apache-airflow-providers-fab", "statsd"} <= names
    lock = (PROJECT_DIR / "requirements" / "orchestration.lock").read_text().lower()
    assert not [n for n in names if re.search(rf"^{re.escape(n)}(==| @)", lock, re.M)], "pinned twice"


def test_airflow_healthcheck_script_dispatches_per_component(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for tool in ("curl", "airflow", "celery"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n')
        stub.chmod(0o755)
    script = INFRA / "docker" / "airflow-healthcheck.sh"
    expected = {
        "api-server": "curl .*localhost:8080/api/v2/monitor/health",
        "scheduler": "curl .*localhost:8974/health",
        "dag-processor": "airflow jobs check --job-type DagProcessorJob --local",
        "triggerer": "airflow jobs check --job-type TriggererJob --local",
        "celery-worker": "celery --app airflow.providers.celery.executors.celery_executor.app inspect ping",
    }
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HOSTNAME": "worker-1"}
    for component, pattern in expected.items():
        calls.write_text("")
        subprocess.run(["bash", str(script), component], env=env, check=True)
        assert re.search(pattern, calls.read_text()), (component, calls.read_text())
    assert subprocess.run(["bash", str(script), "bogus"], env=env, capture_output=True).returncode == 2
    for name, service in SERVICES.items():
        test = (service.get("healthcheck") or {}).get("test", [])
        if "/opt/kaizen/bin/airflow-healthcheck" in test:
            assert test[-1] in expected, name


def load_mlflow_server():
    spec = importlib.util.spec_from_file_location("mlflow_server", INFRA / "docker" / "mlflow_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlflow_server_renders_the_auth_ini_and_command():
    mlflow_server = load_mlflow_server()
    env = {
        "KAIZEN_MLFLOW_DB_URL": "postgresql://mlflow:p%40ss%25w@postgres:5432/mlflow",
        "KAIZEN_MLFLOW_AUTH_DB_URL": "postgresql://mlflow:p%40ss%25w@postgres:5432/mlflow_auth",
        "MLFLOW_AUTH_ADMIN_PASSWORD": "a-long-enough-password",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "k",
    }
    ini = configparser.ConfigParser()  # MLflow reads it with interpolation: a % must survive
    ini.read_string(mlflow_server.auth_ini(env))
    assert ini["mlflow"]["database_uri"] == "postgresql+psycopg2://mlflow:p%40ss%25w@postgres:5432/mlflow_auth"
    assert ini["mlflow"]["admin_username"] == "admin"
    assert ini["mlflow"]["authorization_function"] == "mlflow.server.auth:authenticate_request_basic_auth"
    command = mlflow_server.server_command(env)
    assert command[command.index("--app-name") + 1] == "basic-auth"
    assert "p%40ss" not in " ".join(command), "a password on the command line shows in ps"
    assert mlflow_server.server_env(env)["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://mlflow:p%40ss")
    assert "--serve-artifacts" in command
    with pytest.raises(mlflow_server.ConfigError, match="MLFLOW_AUTH_ADMIN_PASSWORD"):
        mlflow_server.check({k: v for k, v in env.items() if k != "MLFLOW_AUTH_ADMIN_PASSWORD"})


# --- PostgreSQL init script, on a real server -------------------------------------------------


def test_init_databases_script_provisions_least_privilege(pg_admin_url, tmp_path):
    """The script compose and the Kubernetes Job run: one database and role per component,
    PUBLIC may not connect, and a second run changes nothing but the passwords. shop_reader
    may read the shop's tables (those made later too) and change nothing; the model server's
    role, once Kaizen's migrations granted it, may insert prediction rows and read nothing."""
    prefix = f"kzi{uuid.uuid4().hex[:6]}_"
    admin = urlsplit(pg_admin_url)
    passwords = {
        f"KAIZEN_{c.upper()}_DB_PASSWORD": f"{c}-{uuid.uuid4().hex}"
        for c in ("shop", "airflow", "mlflow", "feast", "shop_reader", "serving", "grafana")
    }
    env = {
        **os.environ,
        "PGHOST": admin.hostname or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "PGUSER": admin.username or "postgres",
        "PGPASSWORD": admin.password or "",
        "KAIZEN_DATABASE_PREFIX": prefix,
        "KAIZEN_DB_PASSWORD": f"kaizen-{uuid.uuid4().hex}",
        **passwords,
    }
    env.pop("POSTGRES_USER", None)
    databases = [f"{prefix}{c}" for c in ("shop", "airflow", "mlflow", "feast", "kaizen", "mlflow_auth")]
    roles = [
        f"{prefix}{c}" for c in ("shop", "airflow", "mlflow", "feast", "kaizen", "shop_reader", "serving", "grafana")
    ]
    script = INFRA / "postgres" / "init-databases.sh"
    conn = psycopg2.connect(pg_admin_url)
    conn.autocommit = True

    def login(role: str, password: str, database: str):
        return psycopg2.connect(with_database(component_url(pg_admin_url, role, password), database))

    try:
        for _ in range(2):  # idempotent
            result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
        with conn.cursor() as cur:
            for database in databases:
                owner = f"{prefix}mlflow" if database.endswith("mlflow_auth") else database
                cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,))
                assert cur.fetchone() == (owner,), database
                cur.execute(
                    "SELECT has_database_privilege(%s, %s, 'CONNECT'), has_database_privilege(%s, %s, 'CONNECT')",
                    (owner, database, roles[0] if owner != roles[0] else roles[1], database),
                )
                assert cur.fetchone() == (True, False), f"{database}: only its owner may connect"
            cur.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s AND (rolsuper OR rolcreatedb OR rolcreaterole)",
                (f"{prefix}%",),
            )
            assert cur.fetchall() == []
        # The demo shop's tables, made by its owner after the script ran: the reader may read them.
        migrate_shop(component_url(pg_admin_url, f"{prefix}shop", env["KAIZEN_SHOP_DB_PASSWORD"]))
        reader = login(f"{prefix}shop_reader", env["KAIZEN_SHOP_READER_DB_PASSWORD"], f"{prefix}shop")
        try:
            with reader, reader.cursor() as cur:
                cur.execute("SELECT count(*) FROM events")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), reader, reader.cursor() as cur:
                cur.execute("INSERT INTO events (session_id) VALUES ('s')")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), reader, reader.cursor() as cur:
                cur.execute("CREATE TABLE kaizen_was_here (x int)")
        finally:
            reader.close()
        kaizen_url = component_url(pg_admin_url, f"{prefix}kaizen", env["KAIZEN_DB_PASSWORD"])
        migrate_kaizen(kaizen_url, f"{prefix}serving", f"{prefix}grafana")
        serving = login(f"{prefix}serving", env["KAIZEN_SERVING_DB_PASSWORD"], f"{prefix}kaizen")
        try:
            with serving, serving.cursor() as cur:
                cur.execute(
                    "INSERT INTO prediction_log (requested_at, items, recommended, model_name, model_version, "
                    "latency_ms) VALUES (now(), '{a}', '{b}', 'm', '1', 1.0)"
                )
            for table in ("prediction_log", "ingest_quarantine", "ingested_days"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege), serving, serving.cursor() as cur:
                    cur.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(sql.Identifier(table)))
        finally:
            serving.close()
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            login(f"{prefix}serving", env["KAIZEN_SERVING_DB_PASSWORD"], f"{prefix}shop").close()
        # Grafana reads what its dashboard queries, and nothing else.
        grafana = login(f"{prefix}grafana", env["KAIZEN_GRAFANA_DB_PASSWORD"], f"{prefix}kaizen")
        try:
            for query in dashboard_sql():
                with grafana, grafana.cursor() as cur:
                    cur.execute(query)
            for table in ("prediction_log", "ingest_quarantine"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege), grafana, grafana.cursor() as cur:
                    cur.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(sql.Identifier(table)))
        finally:
            grafana.close()
        missing = {**env, "KAIZEN_FEAST_DB_PASSWORD": ""}
        result = subprocess.run(["bash", str(script)], env=missing, capture_output=True, text=True, timeout=120)
        assert result.returncode != 0 and "KAIZEN_FEAST_DB_PASSWORD" in result.stderr
    finally:
        with conn.cursor() as cur:
            for database in databases:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            for role in roles:
                cur.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
                cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.close()


# --- Terraform --------------------------------------------------------------------------------

HCL_DUMP = """
import json, pathlib, sys
import hcl2
out = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.tf")):
    with path.open() as f:
        out[path.name] = hcl2.load(f)
print(json.dumps(out, default=str))
"""


@lru_cache(maxsize=1)
def terraform() -> dict:
    venv = infra_venv()
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", HCL_DUMP, str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"python-hcl2 cannot parse infra/terraform:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


def unwrap(value):
    """python-hcl2 wraps attribute values and blocks in one-element lists."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def blocks(kind: str) -> dict:
    """Every ``kind`` block (resource, variable, locals...) across the files, by name."""
    found = {}
    for parsed in terraform().values():
        for block in parsed.get(kind, []):
            found.update(block)
    return found


def resources(resource_type: str) -> dict:
    return {
        name: body
        for parsed in terraform().values()
        for block in parsed.get("resource", [])
        for name, body in block.get(resource_type, {}).items()
    }


def local(name: str):
    return unwrap(blocks("locals")[name])


def test_terraform_parses_and_has_the_expected_files():
    assert {"versions.tf", "variables.tf", "outputs.tf"} <= set(terraform())
    assert (TERRAFORM / "README.md").is_file()


def test_terraform_pins_terraform_and_every_provider():
    settings = blocks("terraform")
    assert unwrap(settings["required_version"])
    providers = unwrap(settings["required_providers"])
    assert {"helm", "kubernetes"} <= set(providers)
    for name, spec in providers.items():
        assert re.match(r"^(~>|=|>=)\s*\d", unwrap(spec)["version"]), f"provider {name} is not pinned"
        assert unwrap(spec)["source"].startswith("hashicorp/")


def test_terraform_variables_are_typed_described_and_sensitive_when_secret():
    variables = blocks("variable")
    assert variables
    for name, body in variables.items():
        assert "type" in body and unwrap(body.get("description")), f"variable {name} needs a type and a description"
        sensitive = unwrap(body.get("sensitive")) is True
        if SECRET_NAME.search(name) or name in ("mlflow_admin", "db_passwords", "airflow_secrets"):
            assert sensitive, f"variable {name} holds a secret: mark it sensitive"
            assert "default" not in body or unwrap(body["default"]) in ("", None), f"secret {name} has a default"


def walk(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from walk(item, path)
    else:
        yield path, value


def test_terraform_has_no_literal_secret():
    secret_attribute = re.compile(r"(?i)^[a-z_\-]*(password|secret|secret_key|fernet_key|token)$")
    for filename, parsed in terraform().items():
        if filename == "variables.tf":
            continue
        for path, value in walk(parsed):
            if path and secret_attribute.match(str(path[-1])) and isinstance(value, str):
                assert "${" in value, f"{filename}: {'.'.join(map(str, path))} is a literal"
    for name, body in resources("kubernetes_secret_v1").items():
        for key, value in unwrap(body["data"]).items():
            if key == "username":
                continue
            if "${each.value" in value:  # for_each: every entry's value must come from a variable
                entries = unwrap(body["for_each"]).values()
                assert all("${var." in unwrap(e)["value"] for e in entries), (
                    f"Secret {name}: a for_each value is a literal"
                )
            else:
                assert "${var." in value, f"Secret {name}.{key} does not come from a variable"


def test_terraform_deploys_the_charts_and_the_seldon_deployment():
    releases = {
        unwrap(body["chart"]): (unwrap(body["repository"]), unwrap(body["version"]))
        for body in resources("helm_release").values()
    }
    assert releases["airflow"][0] == "https://airflow.apache.org"
    assert "community-charts" in releases["mlflow"][0]
    assert "seldon-charts" in releases["seldon-core-operator"][0]
    assert "bitnamicharts" in releases["postgresql"][0]
    for chart, (_, version) in releases.items():
        assert version.startswith("${var.chart_versions."), f"{chart}: pin its version through var.chart_versions"
    defaults = unwrap(blocks("variable")["chart_versions"]["default"])
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in defaults.values()), defaults
    manifest = unwrap(unwrap(resources("kubernetes_manifest")["model_server"])["manifest"])
    assert manifest["apiVersion"] == "machinelearning.seldon.io/v1"
    assert manifest["kind"] == "SeldonDeployment"
    script = unwrap(resources("kubernetes_config_map_v1")["db_init"]["data"])["init-databases.sh"]
    assert "../postgres/init-databases.sh" in script


def test_rendered_seldon_deployments_match_terraform():
    """deploy_recommender's manifests replace the SeldonDeployment Terraform made: same name,
    the "model-server" Service selects their main predictor, MLflow's login from the Secret."""
    from kaizen.serving import manifests

    assert resolve_terraform("${local.seldon_deployment}") == manifests.DEPLOYMENT
    assert resolve_terraform("${local.seldon_predictor}") == manifests.MAIN_PREDICTOR
    service = unwrap(resources("kubernetes_service_v1")["model_server"]["spec"])
    selector = {k: resolve_terraform(v) for k, v in unwrap(service["selector"]).items()}
    assert selector == {"seldon-app": f"{manifests.DEPLOYMENT}-{manifests.MAIN_PREDICTOR}"}
    secret = resources("kubernetes_secret_v1")["kaizen_env"]
    assert unwrap(unwrap(secret["metadata"])["name"]) == manifests.CREDENTIALS_SECRET
    rendered = manifests.seldon_deployment(
        strategy="canary",
        new_version="2",
        current_version="1",
        image="kaizen/model-server:1",
        model_name="m",
        tracking_uri="http://mlflow:5000",
    )
    assert rendered["metadata"]["name"] == manifests.DEPLOYMENT
    for predictor in rendered["spec"]["predictors"]:
        env = {e["name"]: e for e in predictor["componentSpecs"][0]["spec"]["containers"][0]["env"]}
        for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            assert key in unwrap(secret["data"]), key
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": manifests.CREDENTIALS_SECRET, "key": key}


def test_terraform_refuses_empty_secrets():
    variables = blocks("variable")
    for name in ("airflow_secrets", "postgres_admin_password", "mlflow_flask_secret_key", "db_passwords"):
        conditions = [unwrap(v["condition"]) for v in variables[name].get("validation", [])]
        assert any("length(" in c for c in conditions), f"variable {name} accepts an empty secret"


# --- the embedded stack, compose and Terraform in step ----------------------------------------


def embedded_services(tmp_path) -> list[str]:
    return [s.name for s in resolve(Settings.from_env({"KAIZEN_HOME": str(tmp_path)})).services]


def resolve_terraform(value: str) -> str:
    """Substitute ${local.services["X"].port} and ${local.name} references (enough for URLs)."""
    services = local("services")

    def port(match: re.Match) -> str:
        return str(services[match.group(1)][match.group(2)])

    for _ in range(5):  # locals referring to locals
        value = re.sub(r'\$\{local\.services\["([^"]+)"\]\.(\w+)\}', port, value)
        value = re.sub(r'^\$\{"(.*)"\}$', r"\1", value)
        value = re.sub(r"\$\{local\.(\w+)\}", lambda m: str(local(m.group(1))), value)
    return value


def test_service_names_and_ports_agree_across_embedded_compose_and_terraform(tmp_path):
    names = embedded_services(tmp_path)
    tf_services = local("services")
    published = {name: service.get("ports", []) for name, service in SERVICES.items()}
    for name in names:
        assert name in SERVICES, f"{name} is not a compose service"
        assert name in tf_services, f"{name} is not in infra/terraform's local.services"
        for setting in PORT_SETTINGS.get(name, []):
            default = DEFAULTS[setting]
            binding = f"${{KAIZEN_HOST:-127.0.0.1}}:${{{setting}:-{default}}}:{default}"  # loopback unless told
            assert binding in published[name], f"compose {name} publishes {setting} on KAIZEN_HOST"
            assert str(tf_services[name][TF_PORT_KEYS[setting]]) == default, f"terraform {name} {setting}"
    assert set(tf_services) == set(names), "terraform names a service the embedded stack does not have"


def test_shared_variables_agree_across_compose_and_terraform():
    documented = set(DEFAULTS)
    compose_env = SERVICES["airflow-worker"]["environment"]
    tf_env = {k: resolve_terraform(v) for k, v in local("kaizen_env").items()}
    tf_secret_env = set(unwrap(resources("kubernetes_secret_v1")["kaizen_env"]["data"]))
    for key in SHARED_VARIABLES:
        assert key in compose_env, f"compose does not set {key}"
        assert key in tf_env or key in tf_secret_env, f"terraform does not set {key}"
        if key.startswith("KAIZEN_") or key == "MLFLOW_TRACKING_URI":
            assert key in documented, f"{key} is not a kaizen.config.Settings variable"
    for key in (
        "MLFLOW_TRACKING_URI",
        "KAIZEN_MODEL_SERVER_URL",
        "KAIZEN_AIRFLOW_URL",
        "KAIZEN_LAKE_DIR",
        "KAIZEN_HANDOVER_DIR",
    ):
        assert tf_env[key] == compose_env[key], f"{key}: terraform {tf_env[key]} != compose {compose_env[key]}"
    for key in ("MLFLOW_TRACKING_URI", "KAIZEN_MODEL_SERVER_URL", "KAIZEN_AIRFLOW_URL"):
        host, port = urlsplit(compose_env[key]).hostname, urlsplit(compose_env[key]).port
        assert host in SERVICES and host in local("services"), key
        assert str(port) in {
            DEFAULTS["KAIZEN_MLFLOW_PORT"],
            DEFAULTS["KAIZEN_SERVING_PORT"],
            DEFAULTS["KAIZEN_AIRFLOW_PORT"],
        }


# --- checkov ----------------------------------------------------------------------------------


def test_checkov_reports_no_failed_check():
    """Every finding is fixed or skipped inline with a reason (#checkov:skip=CKV_...:reason)."""
    result = subprocess.run(
        [str(infra_venv() / "bin" / "checkov"), "-d", str(INFRA), "--compact", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_DIR,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    frameworks = {r["check_type"] for r in reports}
    assert {"terraform", "dockerfile"} <= frameworks, frameworks
    failed = [
        f"{r['check_type']}: {c['check_id']} {c['file_path']}:{c['file_line_range']} {c['check_name']}"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    for report in reports:
        for check in report["results"]["skipped_checks"]:
            reason = (check["check_result"].get("suppress_comment") or "").strip()
            assert len(reason) > 10, f"{check['check_id']} in {check['file_path']} is skipped without a reason"
    assert result.returncode == 0, result.stderr[-3000:]
