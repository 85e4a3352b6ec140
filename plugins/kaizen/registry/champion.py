"""Registration, and the one owner of the aliases the model server follows.

Every move of ``@champion`` goes through here, under the same rules:

- the champion is read strictly: only "the alias is not set" means there is none; any other
  registry error (a 5xx, a 403, a timeout) raises, so no gate promotes without comparing;
- a move is compare-and-set: ``@champion`` moves only if it still names the version the
  decision was made against (``AliasMoved`` otherwise, and nothing changes);
- the version that takes over first records whom it replaced (``tags.PREVIOUS_CHAMPION``), so a
  rollback always knows where to go.
"""

from __future__ import annotations

import contextlib
import io
import logging

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from kaizen.config import CHAMPION_ALIAS
from kaizen.errors import AliasMoved, RegistryError
from kaizen.registry import tags

log = logging.getLogger(__name__)

CHALLENGER_ALIAS = "challenger"


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


def _alias_not_set(exc: MlflowException) -> bool:
    """MLflow's answers for "no such alias" (or no such model yet): the only "no champion"."""
    message = str(exc)
    return exc.error_code == "RESOURCE_DOES_NOT_EXIST" or (
        exc.error_code == "INVALID_PARAMETER_VALUE" and "alias" in message and "not found" in message
    )


def champion_version(tracking_uri: str, name: str) -> str | None:
    """The version ``@champion`` names; None only when it is not set. Raises RegistryError on
    any other answer: "could not ask" is not "no champion"."""
    try:
        return str(MlflowClient(tracking_uri).get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except MlflowException as exc:
        if _alias_not_set(exc):
            return None
        raise RegistryError(f"could not read {name}@{CHAMPION_ALIAS}: {exc}") from exc


def previous_champion(tracking_uri: str, name: str, version: str) -> str | None:
    """The champion ``version`` replaced, as recorded when it took over."""
    return MlflowClient(tracking_uri).get_model_version(name, version).tags.get(tags.PREVIOUS_CHAMPION)


def _compare_and_set(tracking_uri: str, name: str, version: str, expected: str | None, record: bool) -> None:
    current = champion_version(tracking_uri, name)
    if current != expected:
        raise AliasMoved(
            f"{name}@{CHAMPION_ALIAS} is v{current}, not v{expected} as when the move to v{version} was "
            "decided: left unchanged"
        )
    if current == version:
        return
    client = MlflowClient(tracking_uri)
    if record and expected is not None:
        client.set_model_version_tag(name, version, tags.PREVIOUS_CHAMPION, expected)
    client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    log.info("%s@%s: v%s -> v%s", name, CHAMPION_ALIAS, expected, version)


def move_champion(tracking_uri: str, name: str, version: str, expected: str | None) -> None:
    """Point ``@champion`` at ``version`` if it still names ``expected`` (None: not set yet);
    ``version`` records ``expected`` as the champion it replaced."""
    _compare_and_set(tracking_uri, name, version, expected, record=True)


def restore_champion(tracking_uri: str, name: str, previous: str, failed: str) -> None:
    """Roll ``@champion`` back from ``failed`` to ``previous``, unless someone moved it since
    (``AliasMoved``: their move stands); ``previous`` keeps its own record."""
    _compare_and_set(tracking_uri, name, previous, failed, record=False)


def keep_as_challenger(tracking_uri: str, name: str, version: str) -> None:
    MlflowClient(tracking_uri).set_registered_model_alias(name, CHALLENGER_ALIAS, version)
