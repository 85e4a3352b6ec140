"""Start the MLflow tracking server of the production stack, with basic auth.

The container's entry point (infra/docker/mlflow.Dockerfile). It writes MLflow's auth ini file
(the user store's database URI carries a password, so it is rendered at start from the
environment instead of being committed) and then replaces itself with ``mlflow server``:

- backend store: ``KAIZEN_MLFLOW_DB_URL`` (the ``mlflow`` database, as ``kaizen up`` names it);
- auth user store: ``KAIZEN_MLFLOW_AUTH_DB_URL`` (the ``mlflow_auth`` database, same role);
- admin: ``MLFLOW_AUTH_ADMIN_USERNAME`` (default ``admin``) and ``MLFLOW_AUTH_ADMIN_PASSWORD``,
  which MLflow reads itself and uses only to create the admin on first start;
- ``MLFLOW_FLASK_SERVER_SECRET_KEY``: CSRF protection, the same for every replica;
- artifacts: proxied (``--serve-artifacts``) to ``KAIZEN_MLFLOW_ARTIFACTS_DESTINATION``, a
  directory on a volume or ``s3://bucket`` (MinIO with ``MLFLOW_S3_ENDPOINT_URL``).

Secrets reach the server through its environment and the 0600 ini file, never its command line
(``MLFLOW_BACKEND_STORE_URI`` instead of ``--backend-store-uri``), where ``ps`` would show them.
Before starting it waits for PostgreSQL, so that an engine that ignores compose's health
conditions does not see it crash. ``python mlflow_server.py --print`` shows the command.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

REQUIRED = (
    "KAIZEN_MLFLOW_DB_URL",
    "KAIZEN_MLFLOW_AUTH_DB_URL",
    "MLFLOW_AUTH_ADMIN_PASSWORD",
    "MLFLOW_FLASK_SERVER_SECRET_KEY",
)
DEFAULT_ALLOWED_HOSTS = "mlflow:5000,localhost:*,127.0.0.1:*"


class ConfigError(RuntimeError):
    """A setting the server cannot start without is missing."""


def sqlalchemy_url(url: str) -> str:
    """libpq URL -> SQLAlchemy with psycopg2 (SQLAlchemy 2.1 maps postgresql:// to psycopg 3)."""
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def check(env: Mapping[str, str]) -> None:
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        raise ConfigError(f"mlflow: set {', '.join(missing)} (see .env.example)")


def auth_ini(env: Mapping[str, str]) -> str:
    """MLflow's basic-auth configuration. MLflow reads it with configparser's interpolation,
    so a ``%`` in the database password must be doubled."""
    database_uri = sqlalchemy_url(env["KAIZEN_MLFLOW_AUTH_DB_URL"]).replace("%", "%%")
    return (
        "[mlflow]\n"
        f"default_permission = {env.get('KAIZEN_MLFLOW_DEFAULT_PERMISSION') or 'READ'}\n"
        f"database_uri = {database_uri}\n"
        f"admin_username = {env.get('MLFLOW_AUTH_ADMIN_USERNAME') or 'admin'}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
    )


def server_command(env: Mapping[str, str]) -> list[str]:
    return [
        "mlflow",
        "server",
        "--app-name",
        "basic-auth",
        "--serve-artifacts",
        "--artifacts-destination",
        env.get("KAIZEN_MLFLOW_ARTIFACTS_DESTINATION") or "/mlartifacts",
        "--host",
        "0.0.0.0",
        "--port",
        env.get("KAIZEN_MLFLOW_CONTAINER_PORT") or "5000",
        "--workers",
        env.get("KAIZEN_MLFLOW_WORKERS") or "2",
        "--allowed-hosts",
        env.get("KAIZEN_MLFLOW_ALLOWED_HOSTS") or DEFAULT_ALLOWED_HOSTS,
    ]


def server_env(env: Mapping[str, str]) -> dict[str, str]:
    """What the server reads from its environment rather than its command line."""
    return {
        "MLFLOW_BACKEND_STORE_URI": sqlalchemy_url(env["KAIZEN_MLFLOW_DB_URL"]),
        # The job runner would start 7 more workers (~1.8 GB); the stack does not use it.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": env.get("MLFLOW_SERVER_ENABLE_JOB_EXECUTION") or "false",
    }


def wait_for_database(url: str, timeout_s: float) -> None:
    """Return once PostgreSQL accepts a connection at ``url``; exit with its error after ``timeout_s``."""
    import psycopg2

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg2.connect(url, connect_timeout=3).close()
            return
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                sys.exit(f"mlflow: the backend store did not answer within {timeout_s:.0f} s: {exc}")
            print(f"mlflow: waiting for the backend store ({str(exc).strip().splitlines()[0]})", file=sys.stderr)
            time.sleep(2)


def main(argv: list[str]) -> None:
    env = dict(os.environ)
    try:
        check(env)
    except ConfigError as exc:
        sys.exit(str(exc))
    command = server_command(env)
    if "--print" in argv:
        print(" ".join(command))
        return
    wait_for_database(env["KAIZEN_MLFLOW_DB_URL"], float(env.get("KAIZEN_DB_WAIT_S") or 300))
    ini = Path(env.get("MLFLOW_AUTH_CONFIG_PATH") or Path.home() / "basic_auth.ini")
    ini.touch(mode=0o600, exist_ok=True)  # it carries the auth database's password
    ini.write_text(auth_ini(env))
    env["MLFLOW_AUTH_CONFIG_PATH"] = str(ini)
    env.update(server_env(env))
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
