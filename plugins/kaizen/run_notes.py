"""A task's outcome, in words, on the run's page in the Airflow UI.

Airflow 3's task API cannot set notes, so the note goes through the public REST API, as the
Airflow user ``KAIZEN_AIRFLOW_API_USER`` (role User: it may edit DAG runs, nothing else). The
note is written on the DAG run (the run list and the run's header show it) and on the task
instance. It is a convenience, never a reason to fail: the outcome is also logged, and recorded
where it matters (MLflow's tags). Without a password (``dag.test()``, a bare CLI run) the log
is the only place.
"""

from __future__ import annotations

import logging

from kaizen.airflow_api import AirflowClient, AirflowError
from kaizen.config import Settings, airflow_api_password

log = logging.getLogger(__name__)

MAX_NOTE = 1000  # Airflow's limit on a task instance's note


def publish(dag_id: str, run_id: str, task_id: str, note: str, map_index: int = -1) -> bool:
    """Write ``note`` on the run and the task instance; True if Airflow took it."""
    note = note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 1] + "…"
    log.info("outcome: %s", note)
    password = airflow_api_password()
    if not password:
        return False
    settings = Settings.from_env()
    try:
        client = AirflowClient(settings.airflow_url, settings.airflow_api_user, password, timeout_s=10)
        client.request("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"note": note})
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        client.request("PATCH", path if map_index < 0 else f"{path}/{map_index}", json={"note": note})
    except (AirflowError, OSError) as exc:
        log.warning("could not write the outcome on the run's page (%s): it is in this log only", exc)
        return False
    return True


def publish_from_context(context, note: str) -> bool:
    """``publish`` for the task instance of an Airflow ``context``."""
    ti = context["ti"]
    return publish(ti.dag_id, ti.run_id, ti.task_id, note, getattr(ti, "map_index", -1))
