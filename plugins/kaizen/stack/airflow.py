"""Airflow 3 for the embedded stack: its configuration, as environment variables, and migration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kaizen.config import PROJECT_DIR, Settings
from kaizen.db_urls import sqlalchemy_url

ADMIN_USER = "admin"
POOLS_SCRIPT = PROJECT_DIR / "infra" / "docker" / "airflow-pools.sh"  # the pools, as every stack creates them


def airflow_home(settings: Settings) -> Path:
    return settings.home / "airflow"


def password_file(settings: Settings) -> Path:
    """Where SimpleAuthManager writes the admin's generated password."""
    return airflow_home(settings) / "simple_auth_manager_passwords.json.generated"


def seed_password(settings: Settings, username: str, password: str) -> None:
    """Put ``username``'s password in SimpleAuthManager's password file (owner-only) before the
    api-server starts: it generates passwords only for users the file lacks, so this one is
    the stack's secret, which the tasks know too."""
    path = password_file(settings)
    passwords = json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}
    if passwords.get(username) != password:
        passwords[username] = password
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(json.dumps(passwords) + "\n")


def airflow_env(settings: Settings, secrets: dict[str, str]) -> dict[str, str]:
    """Airflow's settings for every component; they must share the JWT and API secrets."""
    return {
        "AIRFLOW_HOME": str(airflow_home(settings)),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Each LocalExecutor slot is a resident worker process: 32 (the default) cost ~4.8 GB.
        "AIRFLOW__CORE__PARALLELISM": str(settings.airflow_parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(settings.airflow_parallelism),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # On by default: the nightly chain runs without anyone unpausing DAGs (KAIZEN_START_PAUSED).
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(settings.start_paused),
        # The admin operators log in as; the API user tasks write run notes as (role user: DAG runs).
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin,{settings.airflow_api_user}:user",
        "KAIZEN_AIRFLOW_API_PASSWORD": secrets["KAIZEN_AIRFLOW_API_PASSWORD"],
        # MLflow's INFO lines go through the task log at INFO, not to stderr (shown as ERROR).
        "MLFLOW_CONFIGURE_LOGGING": "false",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{settings.airflow_url}/execution/",
        "AIRFLOW__CORE__FERNET_KEY": secrets["AIRFLOW__CORE__FERNET_KEY"],
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(settings.airflow_db_url),
        "AIRFLOW__API__HOST": settings.host,
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets["AIRFLOW__API__SECRET_KEY"],
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets["AIRFLOW__API_AUTH__JWT_SECRET"],
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": settings.host,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }


def airflow_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("airflow")), *args]


def migrate(env: dict[str, str]) -> None:
    """Create or upgrade Airflow's metadata schema (idempotent, a few seconds when current), then
    create the pools the DAGs use with the script the containers run."""
    result = subprocess.run(airflow_command("db", "migrate"), env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    path = f"{Path(airflow_command()[0]).parent}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}"
    result = subprocess.run(["bash", str(POOLS_SCRIPT)], env={**env, "PATH": path}, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"creating Airflow's pools failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
