"""materialize_features: new lake data in, fresh features out (offline tables and online store).

Runs whenever ingest_shop_events updates the ``lake_events`` Asset: recomputes the feature
tables from the lake, applies changed Feast definitions, materialises into the online
store, and updates the ``features`` Asset that train_recommender runs on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from kaizen.assets import FEATURES, LAKE_EVENTS
from kaizen.dag_defaults import default_args, fail_fast


@dag(
    dag_id="materialize_features",
    schedule=[LAKE_EVENTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kaizen", "features"],
    doc_md=__doc__,
    # A refresh recomputes from the lake: safe to repeat.
    default_args=default_args(retries=2, timeout=timedelta(hours=2)),
)
def materialize_features():
    @task(outlets=[FEATURES])
    @fail_fast
    def refresh() -> dict:
        from kaizen.config import Settings
        from kaizen.features.refresh import refresh

        return refresh(Settings.from_env())

    refresh()


materialize_features()
