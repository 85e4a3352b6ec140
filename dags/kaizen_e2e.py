"""kaizen_e2e: one thin run through every stage, from the shop's database to a served model.

ingest_events -> refresh_features -> train -> register_champion -> wait_until_served -> smoke_test
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task


@dag(
    dag_id="kaizen_e2e",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kaizen", "e2e"],
    doc_md=__doc__,
    params={
        "model": Param("sr", enum=["sr", "popularity"], description="Model family to train."),
        "test_days": Param(2.0, type="number", minimum=0.1, description="Last days held out as the test window."),
    },
)
def kaizen_e2e():
    @task
    def ingest_events() -> dict:
        from kaizen.config import Settings
        from kaizen.ingest.pipeline import ingest_everything

        return ingest_everything(Settings.from_env(), get_current_context()["run_id"]).as_dict()

    @task
    def refresh_features(extracted: dict) -> dict:
        from kaizen.config import Settings
        from kaizen.features.store import refresh

        return refresh(Settings.from_env())

    @task
    def train(features: dict, params: dict | None = None) -> dict:
        from kaizen.config import Settings
        from kaizen.training.train import train_and_log

        return train_and_log(Settings.from_env(), params["model"], test_days=params["test_days"])

    @task
    def register_champion(trained: dict) -> str:
        from kaizen.config import Settings
        from kaizen.registry.champion import register, set_champion

        settings = Settings.from_env()
        version = register(settings.mlflow_tracking_uri, trained["model_uri"], settings.model_name)
        set_champion(settings.mlflow_tracking_uri, settings.model_name, version)
        return version

    @task
    def wait_until_served(version: str) -> str:
        from kaizen.config import Settings
        from kaizen.serving.client import ModelServerClient

        ModelServerClient(Settings.from_env().model_server_url).wait_for_version(version)
        return version

    @task
    def smoke_test(version: str) -> dict:
        from kaizen.config import Settings
        from kaizen.serving.smoke import smoke_test

        return smoke_test(Settings.from_env(), version)

    served = wait_until_served(register_champion(train(refresh_features(ingest_events()))))
    smoke_test(served)


kaizen_e2e()
