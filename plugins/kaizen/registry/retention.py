"""Retention: refused challengers leave the registry after a while; their runs keep everything.

Every refused training still registers a version (the gate compares registered models), so
without retention the registry fills with versions nobody will deploy. A version the gate
refused more than ``older_than_days`` ago, which no alias names (not @champion, @challenger or
anything an operator set), is deleted from the registry. Its MLflow run stays: the logged model,
metrics, plots and model card, from which it can be registered again.
"""

from __future__ import annotations

import logging
import time

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from kaizen.errors import RegistryError
from kaizen.registry import tags

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


def archive_refused(tracking_uri: str, name: str, older_than_days: float, now_ms: int | None = None) -> list[str]:
    """Delete the refused, alias-free versions older than ``older_than_days`` (0: none); returns
    the versions deleted, oldest first."""
    if older_than_days <= 0:
        return []
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    client = MlflowClient(tracking_uri)
    try:
        # A search's versions carry no aliases (MLflow fills them in get_model_version only).
        named = {str(v) for v in client.get_registered_model(name).aliases.values()}
        versions = client.search_model_versions(f"name='{name}'", order_by=["version_number ASC"])
        expired = [
            mv
            for mv in versions
            if mv.tags.get(tags.DECISION) == "refused"
            and str(mv.version) not in named
            and now_ms - mv.creation_timestamp > older_than_days * DAY_MS
        ]
        for mv in expired:
            client.delete_model_version(name, mv.version)
            log.info(
                "deleted %s v%s: refused %s, its run %s keeps the model", name, mv.version, _age(mv, now_ms), mv.run_id
            )
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []  # nothing registered yet
        raise RegistryError(f"retention of {name}'s refused versions failed: {exc}") from exc
    return [str(mv.version) for mv in expired]


def _age(mv, now_ms: int) -> str:
    return f"{(now_ms - mv.creation_timestamp) / DAY_MS:.0f} days ago"
