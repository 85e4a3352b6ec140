"""monitor_recommender: is the served model still good, and is the shop still what it learnt?

measure -> request_retraining -> start_training

Runs after every ingestion (the ``lake_events`` Asset) and on demand. ``measure`` joins the
model server's prediction log with the sessions that followed in the lake: online HR@20,
MRR@20, click-through, add-to-cart and purchase rates, coverage, popularity bias and the
share of answers served without online features, per model version and day (Kaizen's table
``online_quality``, the served version's MLflow run and an HTML report there, Grafana). It
checks drift between the served version's training data and the newest days, and alerts.

A drift or a quality drop asks for retraining: ``request_retraining`` records the request
(``retrain_requests``) and, unless the cooldown or the daily cap holds it back, updates the
``retrain_requested`` Asset with the reason and starts ``train_recommender`` with the reason
in its conf and note. Thresholds: ``KAIZEN_DRIFT_*``, ``KAIZEN_MONITOR_*``, ``KAIZEN_RETRAIN_*``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from kaizen.assets import LAKE_EVENTS, MONITORING, RETRAIN_REQUESTED
from kaizen.dag_defaults import TriggerRunWithNote, default_args, fail_fast

REASON = "{{ ti.xcom_pull(task_ids='request_retraining') }}"


@dag(
    dag_id="monitor_recommender",
    schedule=[LAKE_EVENTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kaizen", "monitoring"],
    doc_md=__doc__,
    # Measuring reads and upserts: safe to repeat.
    default_args=default_args(retries=2, timeout=timedelta(minutes=30)),
)
def monitor_recommender():
    @task(outlets=[MONITORING])
    @fail_fast
    def measure() -> dict:
        from kaizen.config import Settings
        from kaizen.monitoring.monitor import monitor

        return monitor(Settings.from_env(), get_current_context()["run_id"])

    @task(outlets=[RETRAIN_REQUESTED], retries=0)  # the request is recorded: not to be made twice
    def request_retraining(measured: dict) -> str:
        decision = measured["retrain"]
        if not decision or not decision["emitted"]:
            held = f"held back: {decision['held_back_by']}" if decision else "no drift, no quality drop"
            raise AirflowSkipException(f"no retraining: {held}")
        get_current_context()["outlet_events"][RETRAIN_REQUESTED].extra = {"reason": decision["reason"]}
        return decision["reason"]

    start_training = TriggerRunWithNote(
        task_id="start_training",
        trigger_dag_id="train_recommender",
        conf={"retrain_reason": REASON},
        note=f"Started by monitor_recommender: {REASON}",
        retries=0,
    )

    request_retraining(measure()) >> start_training


monitor_recommender()
