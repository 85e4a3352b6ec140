"""Secrets the embedded stack generates once and keeps in ``$KAIZEN_HOME/secrets.env``."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from kaizen.config import read_env_file, write_env_file

NAMES = (
    "KAIZEN_POSTGRES_PASSWORD",
    "KAIZEN_SHOP_DB_PASSWORD",
    "KAIZEN_AIRFLOW_DB_PASSWORD",
    "KAIZEN_MLFLOW_DB_PASSWORD",
    "KAIZEN_FEAST_DB_PASSWORD",
    "KAIZEN_DB_PASSWORD",
    "KAIZEN_SHOP_READER_DB_PASSWORD",
    "KAIZEN_SERVING_DB_PASSWORD",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__CORE__FERNET_KEY",
    "KAIZEN_AIRFLOW_API_PASSWORD",
)


def generate(name: str) -> str:
    """A new value for the secret ``name``: a Fernet key for Airflow's, 32 hex digits otherwise."""
    if name == "AIRFLOW__CORE__FERNET_KEY":
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    return secrets.token_hex(16)


def load_or_create(home: Path) -> dict[str, str]:
    """The stack's secrets: generated on first use, the same on every later ``up``."""
    path = home / "secrets.env"
    values = read_env_file(path)
    missing = [name for name in NAMES if name not in values]
    if missing:
        values.update({name: generate(name) for name in missing})
        write_env_file(path, values)
    return values


def db_password(values: dict[str, str], component: str) -> str:
    """The password of a component's database role (``kaizen``'s is KAIZEN_DB_PASSWORD)."""
    return values["KAIZEN_DB_PASSWORD" if component == "kaizen" else f"KAIZEN_{component.upper()}_DB_PASSWORD"]
