"""What every Kaizen DAG shares: who owns it, how its tasks retry, how long one may run, who
hears when one fails.

Retries are for what a retry can fix (a database restarting, a service still starting);
they back off so a struggling dependency is not hammered. Errors a retry cannot fix (a bad
Param, a setting, data that failed validation) fail the task at once (``fail_fast``). A DAG
whose task must not be repeated blindly (a roll-out that rolled back) asks for no retries.
Every task has a time limit, so a hung read or a stuck service fails the run (and alerts)
instead of holding a slot; a task that fails for good sends the ``failed_run`` alert and
says why on the run's page. A task wrapped in ``outcome_note`` says what it did there too.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import BaseNotifier, get_current_context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from kaizen import alerts, run_notes
from kaizen.errors import (
    AlreadyRegistered,
    BadRequest,
    ChallengerKept,
    ConfigError,
    DataQualityError,
    HandoverRefused,
)

OWNER = "kaizen"
# Errors whose cause a retry cannot change.
PERMANENT = (ConfigError, BadRequest, DataQualityError, HandoverRefused)
# Not errors: there was nothing to do, and the task says why.
NOTHING_TO_DO = (AlreadyRegistered, ChallengerKept)


class FailureAlert(BaseNotifier):
    """A task's ``on_failure_callback``: its last try failed; runs in the task's own process."""

    def notify(self, context) -> None:
        ti = context["ti"]
        error = context.get("exception")
        run_notes.publish_from_context(context, f"{ti.task_id} failed: {_first_line(error)}")
        alerts.send(
            "failed_run",
            f"{ti.dag_id} run {ti.run_id}: task {ti.task_id} failed after {ti.try_number} tries: {error}",
            {"dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": ti.task_id, "error": str(error)[:2000]},
        )


def default_args(retries: int, timeout: timedelta, retry_delay: timedelta = timedelta(minutes=1)) -> dict:
    """A DAG's ``default_args``: the owner, ``retries`` with exponential back-off from
    ``retry_delay``, ``timeout`` as every task's ``execution_timeout``, the failure alert."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timeout,
        "on_failure_callback": [FailureAlert()],
    }


def fail_fast(function):
    """Wrap a task's function so that errors a retry cannot fix fail it without retries, and
    "nothing to do" skips it with the reason."""

    @functools.wraps(function)
    def task_function(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except NOTHING_TO_DO as exc:
            raise AirflowSkipException(str(exc)) from exc
        except PERMANENT as exc:
            raise AirflowFailException(f"{type(exc).__name__}: {exc} (not retried: a retry cannot fix this)") from exc

    return task_function


def _first_line(error) -> str:
    """An exception as the run's note shows it: its message without a traceback or the class
    names ``fail_fast`` adds."""
    text = str(error).split("\n", 1)[0]
    for name in (*(cls.__name__ for cls in PERMANENT), "AirflowFailException"):
        text = text.removeprefix(f"{name}: ")
    return text.removesuffix(" (not retried: a retry cannot fix this)")


def outcome_note(function):
    """Wrap a task's function so that its outcome is the run's note: the ``note`` of the dict it
    returns, or the reason it skipped."""

    @functools.wraps(function)
    def task_function(*args, **kwargs):
        try:
            result = function(*args, **kwargs)
        except AirflowSkipException as skipped:
            run_notes.publish_from_context(get_current_context(), str(skipped))
            raise
        if isinstance(result, dict) and result.get("note"):
            run_notes.publish_from_context(get_current_context(), result["note"])
        return result

    return task_function


class TriggerRunWithNote(TriggerDagRunOperator):
    """Airflow's TriggerDagRunOperator with a templated ``note``: the started run's page says
    why it was started."""

    template_fields = (*TriggerDagRunOperator.template_fields, "note")
