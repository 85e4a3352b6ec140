"""The embedded stack's services: how each one starts and how to tell it is healthy.

The names, ports and variables match docker-compose.yml's services, so one table in
docs/architecture.md describes both.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import requests

from kaizen.config import Settings
from kaizen.db_urls import redact, sqlalchemy_url
from kaizen.errors import StackError
from kaizen.features import feature_server
from kaizen.features import health as feature_server_health
from kaizen.serving import health as model_server_health
from kaizen.stack.airflow import airflow_command
from kaizen.stack.postgres import PrivateCluster
from kaizen.stack.supervisor import Program

HealthCheck = Callable[[], str]  # returns a short status; raises when unhealthy


class Unhealthy(StackError):
    """A service answered, but not with good health."""


@dataclass(frozen=True)
class Service:
    name: str
    program: Program | None  # None: not supervised here (an external PostgreSQL)
    check: HealthCheck
    url: str = ""
    uses_airflow_db: bool = False  # starts only once ``airflow db migrate`` has run


# What the model server may know: no database login but its insert-only one.
_NOT_FOR_SERVING = (
    "KAIZEN_DATABASE_URL",
    "KAIZEN_SHOP_DB_URL",
    "KAIZEN_DEMO_SHOP_DB_URL",
    "KAIZEN_DB_URL",
    "KAIZEN_AIRFLOW_DB_URL",
    "KAIZEN_MLFLOW_DB_URL",
    "KAIZEN_FEAST_DB_URL",
)


def services(
    settings: Settings, cluster: PrivateCluster | None, admin_url: str, airflow_env: dict[str, str]
) -> list[Service]:
    """The stack's services. Each program gets only its own variables (supervisord's
    configuration is private to the owner): Airflow's secrets reach Airflow alone, database
    logins only the component they belong to."""
    bin_dir = Path(sys.executable).parent
    airflow_health = _airflow_health(settings)
    kaizen_env = settings.as_env()
    # The demo shop's owner login is the CLI's alone: Airflow reads the shop as shop_reader.
    airflow_program_env = {k: v for k, v in {**kaizen_env, **airflow_env}.items() if k != "KAIZEN_DEMO_SHOP_DB_URL"}
    serving_env = {k: v for k, v in kaizen_env.items() if k not in _NOT_FOR_SERVING}
    postgres_program = (
        Program("postgres", cluster.server_command(), user=cluster.os_user, stopsignal="INT", priority=10)
        if cluster
        else None
    )
    return [
        Service("postgres", postgres_program, lambda: _postgres_health(admin_url), redact(admin_url)),
        Service(
            "mlflow",
            Program(
                "mlflow",
                [
                    str(bin_dir / "mlflow"),
                    "server",
                    "--serve-artifacts",
                    "--artifacts-destination",
                    str(settings.home / "mlflow" / "artifacts"),
                    "--host",
                    settings.host,
                    "--port",
                    str(settings.mlflow_port),
                    "--workers",
                    "2",
                    "--allowed-hosts",
                    f"{settings.host}:{settings.mlflow_port},localhost:{settings.mlflow_port}",
                ],
                env={
                    # Not --backend-store-uri: a password on a command line is visible in `ps`.
                    "MLFLOW_BACKEND_STORE_URI": sqlalchemy_url(settings.mlflow_db_url),
                    # The job runner would add 7 workers (~1.8 GB); the stack does not use it.
                    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
                },
                priority=20,
            ),
            lambda: _mlflow_health(settings.mlflow_tracking_uri),
            settings.mlflow_tracking_uri,
        ),
        Service(
            "airflow-api-server",
            Program("airflow-api-server", airflow_command("api-server"), env=airflow_program_env, priority=30),
            lambda: airflow_health("metadatabase"),
            settings.airflow_url,
            uses_airflow_db=True,
        ),
        Service(
            "airflow-scheduler",
            # --skip-serve-logs: Airflow's log server binds every interface, and the api-server
            # reads task logs straight from the shared log directory here.
            Program(
                "airflow-scheduler",
                airflow_command("scheduler", "--skip-serve-logs"),
                env=airflow_program_env,
                priority=30,
            ),
            lambda: airflow_health("scheduler"),
            uses_airflow_db=True,
        ),
        Service(
            "airflow-dag-processor",
            Program("airflow-dag-processor", airflow_command("dag-processor"), env=airflow_program_env, priority=30),
            lambda: airflow_health("dag_processor"),
            uses_airflow_db=True,
        ),
        Service(
            "airflow-triggerer",
            Program(
                "airflow-triggerer",
                airflow_command("triggerer", "--skip-serve-logs"),
                env=airflow_program_env,
                priority=30,
            ),
            lambda: airflow_health("triggerer"),
            uses_airflow_db=True,
        ),
        Service(
            "feature-server",
            Program("feature-server", feature_server.command(settings, registry_ttl_s=5), priority=35),
            lambda: feature_server_health.check(settings.feature_server_url),
            settings.feature_server_url,
        ),
        Service(
            "model-server",
            Program(
                "model-server",
                model_server_command(settings),
                env=serving_env,
                priority=40,
            ),
            lambda: model_server_health.check(settings.model_server_url),
            settings.model_server_url,
        ),
    ]


def _postgres_health(admin_url: str) -> str:
    conn = psycopg2.connect(admin_url, connect_timeout=3)
    try:
        return f"PostgreSQL {conn.server_version // 10000}"
    finally:
        conn.close()


def _mlflow_health(url: str) -> str:
    """MLflow's ``/health`` answers 200 without its database; a registry search needs it."""
    response = requests.get(f"{url}/api/2.0/mlflow/registered-models/search", params={"max_results": 1}, timeout=3)
    if response.status_code != 200:
        raise Unhealthy(f"a registry search answered {response.status_code}: {response.text[:200]}")
    return "ok"


def _airflow_health(settings: Settings) -> Callable[[str], str]:
    """One call to Airflow's health endpoint answers for every component."""

    def check(component: str) -> str:
        response = requests.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=5)
        response.raise_for_status()
        status = (response.json().get(component) or {}).get("status")
        if status != "healthy":
            raise Unhealthy(f"Airflow reports {component} as {status}")
        return "healthy"

    return check


def model_server_command(settings: Settings, log_level: str = "INFO") -> list[str]:
    """seldon-core-microservice for the kaizen recommender, bound to KAIZEN_HOST instead of
    0.0.0.0, on the settings' ports; the embedded stack, the benchmark and the tests start it so."""
    return [
        str(settings.serving_venv / "bin" / "python"),
        "-m",
        "kaizen.serving.microservice",
        "kaizen.serving.seldon_model.SeldonRecommender",
        "--service-type",
        "MODEL",
        "--http-port",
        str(settings.serving_port),
        "--grpc-port",
        str(settings.serving_grpc_port),
        "--metrics-port",
        str(settings.serving_metrics_port),
        # Two single-threaded workers: 1.5x the throughput of one threaded worker on two
        # cores (bench/serving.py), as Python threads share one GIL.
        "--workers",
        "2",
        "--threads",
        "1",
        "--grpc-workers",
        "1",
        "--log-level",
        log_level,
    ]
