"""Where the platform stands on three MLOps maturity models, from evidence it can show.

``kaizen maturity`` and the weekly ``maturity_report`` DAG inspect the running platform
(``evidence``), place it on Google's, Microsoft's and John et al.'s levels (``assessment``)
and report it (``report``, ``tracking``).
"""

from __future__ import annotations

from kaizen.airflow_api import AirflowClient, AirflowError
from kaizen.config import Settings, airflow_api_password
from kaizen.maturity.evidence import Sources


def sources(settings: Settings, airflow: AirflowClient | None = None, in_task: bool = False) -> Sources:
    """The platform's sources; Airflow as ``airflow`` or, without it, as the API user whose
    password is in KAIZEN_AIRFLOW_API_PASSWORD (what Airflow's tasks have). ``in_task``: this
    process is an Airflow task, whose environment is the one alerts are sent from."""
    if airflow is not None:
        return Sources(settings, airflow, tasks_environment=in_task)
    password = airflow_api_password()
    if not password:
        return Sources(settings, None, "no login: KAIZEN_AIRFLOW_API_PASSWORD is not set", in_task)
    try:
        client = AirflowClient(settings.airflow_url, settings.airflow_api_user, password)
    except (AirflowError, OSError) as exc:
        return Sources(settings, None, str(exc), in_task)
    return Sources(settings, client, tasks_environment=in_task)
