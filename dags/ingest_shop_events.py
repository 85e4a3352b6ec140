"""ingest_shop_events: the shop's events of each day, validated, into the Parquet lake.

check_source -> ingest

``check_source`` checks the mapping and the login against the shop's database and fails
fast, with the report of ``kaizen shop check``, when a run could not go well. Each run
rewrites its interval's days plus a lateness margin before them (Param ``lateness_hours``),
so late events reach their own day and re-runs are idempotent; days that received even
later events are found by their counts and ingested again. Rows that break a validation
rule go to Kaizen's database, table ``ingest_quarantine``, with the rule and this run's id;
the run fails, after writing, only past ``max_bad_rate``. The shop is only read.

A manual run (zero-length interval) ingests the day that ends at its logical date.
Backfill: ``kaizen airflow backfill create --dag-id ingest_shop_events --from-date 2015-09-11 --to-date 2015-09-18``
or *Backfill* in the UI.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from kaizen.assets import LAKE_EVENTS
from kaizen.config import Settings
from kaizen.dag_defaults import default_args, fail_fast


@dag(
    dag_id="ingest_shop_events",
    schedule="@daily",
    start_date=Settings.from_env().shop_opened,  # the earliest interval a backfill may ask for
    catchup=False,
    max_active_runs=1,
    tags=["kaizen", "ingest"],
    doc_md=__doc__,
    default_args=default_args(retries=2, timeout=timedelta(hours=2)),
    params={
        "lateness_hours": Param(
            48, type="number", minimum=0, description="Re-read this many hours before the interval for late events."
        ),
        "max_bad_rate": Param(
            0.05,
            type="number",
            minimum=0,
            maximum=1,
            description="Fail the run when a larger share of rows is quarantined.",
        ),
    },
)
def ingest_shop_events():
    @task(retries=0)  # a wrong mapping or login does not mend itself
    def check_source() -> None:
        from kaizen.config import Settings
        from kaizen.ingest.check import require_ready

        require_ready(Settings.from_env())

    @task(outlets=[LAKE_EVENTS])
    @fail_fast
    def ingest() -> dict:
        import dataclasses

        from kaizen.config import Settings
        from kaizen.ingest.pipeline import ingest_interval

        context = get_current_context()
        settings = dataclasses.replace(
            Settings.from_env(),
            ingest_lateness_hours=float(context["params"]["lateness_hours"]),
            ingest_max_bad_rate=float(context["params"]["max_bad_rate"]),
        )
        end = context["data_interval_end"]
        start = min(context["data_interval_start"], end - timedelta(days=1))
        report = ingest_interval(settings, start, end, context["run_id"])
        if not report.found_events:
            raise AirflowSkipException(f"no events from {report.first_day} to {report.last_day}: the lake is unchanged")
        return report.as_dict()

    check_source() >> ingest()


ingest_shop_events()
