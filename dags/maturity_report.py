"""maturity_report: where the platform stands on three MLOps maturity models, every week.

Inspects the running platform (Airflow's DAGs and runs, MLflow's registry, Feast's registry,
Kaizen's database, the model server, the checkout's CI record), places it on Google's,
Microsoft's and John et al.'s levels and logs the report to MLflow's ``kaizen-maturity``
experiment: the stages as metrics (a trend across weeks), the Markdown, HTML and JSON
reports as artifacts. The run's note says the stages and the next step; ``kaizen maturity``
prints the same report in a terminal.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from kaizen.dag_defaults import default_args, fail_fast, outcome_note


@dag(
    dag_id="maturity_report",
    schedule="@weekly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kaizen", "maturity"],
    doc_md=__doc__,
    # Reads only, and writes a new MLflow run: safe to repeat.
    default_args=default_args(retries=2, timeout=timedelta(minutes=10)),
)
def maturity_report():
    @task
    @outcome_note
    @fail_fast
    def assess() -> dict:
        from kaizen.config import Settings
        from kaizen.maturity.tracking import weekly_report

        return weekly_report(Settings.from_env())

    assess()


maturity_report()
