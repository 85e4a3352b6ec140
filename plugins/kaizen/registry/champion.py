"""Registration and the aliases the model server follows."""

from __future__ import annotations

import contextlib
import io
import logging

import mlflow
from mlflow import MlflowClient

from kaizen.config import CHAMPION_ALIAS

log = logging.getLogger(__name__)


def register(tracking_uri: str, model_uri: str, name: str) -> str:
    mlflow.set_tracking_uri(tracking_uri)
    # register_model prints its progress to stderr, which Airflow's task log shows as ERROR lines.
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        version = mlflow.register_model(model_uri, name).version
    for line in printed.getvalue().splitlines():
        log.info("%s", line)
    log.info("registered %s version %s from %s", name, version, model_uri)
    return str(version)


def set_champion(tracking_uri: str, name: str, version: str) -> None:
    MlflowClient(tracking_uri).set_registered_model_alias(name, CHAMPION_ALIAS, version)
    log.info("%s@%s is now version %s", name, CHAMPION_ALIAS, version)


def champion_version(tracking_uri: str, name: str) -> str | None:
    try:
        return str(MlflowClient(tracking_uri).get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except mlflow.exceptions.MlflowException:
        return None
