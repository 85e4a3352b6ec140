"""``kaizen up | down | status``: the embedded stack's life cycle.

``up`` is idempotent: on a running stack it starts whatever is stopped and waits for
health again. Start order: PostgreSQL, provisioning, migrations (demo shop, Kaizen's database); then MLflow,
the feature server and the model server while ``airflow db migrate`` runs; then the
Airflow components.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kaizen import database
from kaizen.config import STACK_ENV_FILE, Settings, write_env_file
from kaizen.db_urls import component_url, with_database
from kaizen.shop.schema import migrate as migrate_shop
from kaizen.stack import airflow, postgres, secrets
from kaizen.stack.services import Service, services
from kaizen.stack.supervisor import Supervisor, tail_lines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stack:
    """The resolved stack: settings with database URLs filled in, and its services."""

    settings: Settings
    admin_url: str
    services: list[Service]
    supervisor: Supervisor
    env: dict[str, str]  # what every supervised process sees
    secrets: dict[str, str]
    cluster: postgres.PrivateCluster | None  # None: KAIZEN_DATABASE_URL names a server


def private_env(prefix: str) -> dict[str, str]:
    """Variables for a throwaway stack (tests, benchmarks): a new KAIZEN_HOME with its own
    PostgreSQL cluster, and free ports for every service that has a fixed default port, so
    it never meets a stack already running on this machine."""
    # Not under a private temporary directory: as root the cluster runs as the postgres
    # OS user, which must be able to enter the home.
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o711)
    ports = [f.metadata["env"] for f in dataclasses.fields(Settings) if f.name.endswith("_port") and f.default]
    return {"KAIZEN_HOME": str(home), "KAIZEN_DATABASE_URL": "", **{v: str(postgres.free_port()) for v in ports}}


def resolve(settings: Settings) -> Stack:
    """Work out URLs, ports and secrets without starting anything."""
    # Others may pass through the home (the cluster's OS user must reach its data directory)
    # but not list it; what holds secrets (Airflow's generated password, logs) is owner-only.
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.home.chmod(0o711)
    for private in (airflow.airflow_home(settings), settings.home / "logs"):
        private.mkdir(exist_ok=True)
        private.chmod(0o700)
    generated = secrets.load_or_create(settings.home)
    cluster = None
    if settings.database_url:
        admin_url = settings.database_url
    else:
        port = settings.postgres_port or postgres.free_port(settings.host)
        cluster = postgres.PrivateCluster(
            settings.home / "postgres", settings.host, port, generated["KAIZEN_POSTGRES_PASSWORD"]
        )
        admin_url = cluster.admin_url
        settings = dataclasses.replace(settings, postgres_port=port)
    urls = {
        component: component_url(
            admin_url, f"{settings.database_prefix}{component}", secrets.db_password(generated, component)
        )
        for component in postgres.COMPONENTS
    }

    def login(role: str, secret: str, database: str) -> str:
        return with_database(component_url(admin_url, role, generated[secret]), f"{settings.database_prefix}{database}")

    settings = dataclasses.replace(
        settings,
        demo_shop_db_url=settings.demo_shop_db_url or urls["shop"],
        shop_db_url=settings.shop_db_url or login(settings.shop_reader_role, "KAIZEN_SHOP_READER_DB_PASSWORD", "shop"),
        airflow_db_url=settings.airflow_db_url or urls["airflow"],
        mlflow_db_url=settings.mlflow_db_url or urls["mlflow"],
        feast_db_url=settings.feast_db_url or urls["feast"],
        kaizen_db_url=settings.kaizen_db_url or urls["kaizen"],
        prediction_log_db_url=settings.prediction_log_db_url
        or login(settings.serving_db_role, "KAIZEN_SERVING_DB_PASSWORD", "kaizen"),
    )
    airflow_env = airflow.airflow_env(settings, generated)
    env = {**os.environ, **settings.as_env(), **airflow_env}
    return Stack(
        settings,
        admin_url,
        services(settings, cluster, admin_url, airflow_env),
        Supervisor(settings.home),
        env,
        generated,
        cluster,
    )


def up(settings: Settings, timeout_s: float = 240.0) -> Stack:
    stack = resolve(settings)
    sup = stack.supervisor
    sup.write_config([s.program for s in stack.services if s.program])
    # supervisord itself, and so each program, starts from the caller's environment and KAIZEN_HOME
    # only; every program's own variables are in its section of the (owner-only) configuration.
    sup.start_daemon({**os.environ, "KAIZEN_HOME": str(stack.settings.home)})
    _remember(stack.settings)

    if stack.cluster:
        log.info("starting PostgreSQL on port %s", stack.settings.postgres_port)
        stack.cluster.initialise()
        sup.start("postgres")
    postgres.wait_until_ready(stack.admin_url)
    postgres.provision(
        stack.admin_url,
        stack.settings.database_prefix,
        {c: secrets.db_password(stack.secrets, c) for c in postgres.COMPONENTS},
    )
    prefix = stack.settings.database_prefix
    postgres.provision_login(
        stack.admin_url, stack.settings.serving_db_role, stack.secrets["KAIZEN_SERVING_DB_PASSWORD"], f"{prefix}kaizen"
    )
    postgres.provision_login(
        stack.admin_url,
        stack.settings.shop_reader_role,
        stack.secrets["KAIZEN_SHOP_READER_DB_PASSWORD"],
        f"{prefix}shop",
    )
    postgres.grant_read(stack.admin_url, f"{prefix}shop", f"{prefix}shop", stack.settings.shop_reader_role)
    log.info("migrating the demo shop's schema, Kaizen's database and Airflow's metadata database")
    migrate_shop(stack.settings.demo_shop_db_url)
    database.migrate(stack.settings.kaizen_db_url, stack.settings.serving_db_role, stack.settings.dashboard_db_role)
    from kaizen.features.repo_config import write_config  # imports Feast: only here, not for status

    write_config(stack.settings)  # feast serve reads it at start
    # What does not use Airflow's database starts while it is migrated (the slowest step
    # of a first start); the Airflow components start after it.
    for service in stack.services[1:]:
        if not service.uses_airflow_db:
            sup.start(service.program.name, wait=False)
    airflow.migrate(stack.env)
    airflow.seed_password(stack.settings, stack.settings.airflow_api_user, stack.secrets["KAIZEN_AIRFLOW_API_PASSWORD"])
    for service in stack.services[1:]:
        if service.uses_airflow_db:
            sup.start(service.program.name, wait=False)
    wait_healthy(stack, timeout_s)
    return stack


def _remember(settings: Settings) -> None:
    """Write what ``up`` generated so later commands (CLI, tests) find the same stack. Not the
    demo shop's owner login: Airflow's tasks read this file too (``kaizen shop load`` derives it)."""
    keep = (
        "KAIZEN_POSTGRES_PORT",
        "KAIZEN_SHOP_DB_URL",
        "KAIZEN_DB_URL",
        "KAIZEN_AIRFLOW_DB_URL",
        "KAIZEN_MLFLOW_DB_URL",
        "KAIZEN_FEAST_DB_URL",
        "KAIZEN_PREDICTION_LOG_DB_URL",
    )
    env = settings.as_env()
    write_env_file(settings.home / STACK_ENV_FILE, {key: env[key] for key in keep})


def health(stack: Stack) -> dict[str, tuple[bool, str]]:
    """Each service's (healthy, detail): supervisor state first, then its own check."""
    states = stack.supervisor.states()
    report = {}
    for service in stack.services:
        state = states.get(service.name, "STOPPED") if service.program else "EXTERNAL"
        if state not in ("RUNNING", "EXTERNAL"):
            report[service.name] = (False, state.lower())
            continue
        try:
            report[service.name] = (True, service.check())
        except Exception as exc:  # any failure of a check is the service's ill health
            report[service.name] = (False, f"{state.lower()}, unhealthy: {_short(exc)}")
    return report


def wait_healthy(stack: Stack, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        report = health(stack)
        failing = {name: detail for name, (ok, detail) in report.items() if not ok}
        if not failing:
            return
        crashed = [n for n, d in failing.items() if d.startswith(("fatal", "backoff", "exited"))]
        if crashed or time.monotonic() > deadline:
            name = (crashed or list(failing))[0]
            raise RuntimeError(
                f"{name} is not healthy ({failing[name]}). Last lines of {stack.supervisor.log_file(name)}:\n"
                + tail_lines(stack.supervisor.log_file(name), 25)
            )
        time.sleep(1)


def down(settings: Settings) -> None:
    Supervisor(settings.home).shutdown()


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
