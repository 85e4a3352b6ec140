"""kaizen_e2e: one thin run through every stage, from the shop's database to a served model.

check_source -> ingest_events -> refresh_features -> train -> gate -> deploy

train registers a new version (``model`` auto: the best family on the validation window, with
its default parameters); gate promotes it to @champion if it beats the current one (the first
always does) and skips, with deploy, when it keeps the challenger; deploy waits until the model
server serves the champion, smoke-tests it over HTTP and rolls the alias back if it fails.
gate and deploy run in the ``kaizen_registry`` pool of one slot, as every task that moves
@champion. Each says its outcome in the run's note.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from kaizen.config import REGISTRY_POOL
from kaizen.dag_defaults import default_args, fail_fast, outcome_note
from kaizen.models import AUTO_FAMILY, CANDIDATE_FAMILIES, MODELS


@dag(
    dag_id="kaizen_e2e",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kaizen", "e2e"],
    doc_md=__doc__,
    default_args=default_args(retries=1, timeout=timedelta(hours=4)),
    params={
        "model": Param(
            AUTO_FAMILY,
            enum=[AUTO_FAMILY, *sorted(MODELS)],
            description=f"Model family; auto: the best of {', '.join(CANDIDATE_FAMILIES)} on the validation window.",
        ),
        "test_days": Param(2.0, type="number", minimum=0.1, description="Last days held out as the test window."),
    },
)
def kaizen_e2e():
    @task(retries=0)  # a wrong mapping or login does not mend itself
    def check_source() -> None:
        from kaizen.config import Settings
        from kaizen.ingest.check import require_ready

        require_ready(Settings.from_env())

    @task
    @fail_fast
    def ingest_events() -> dict:
        from kaizen.config import Settings
        from kaizen.ingest.pipeline import ingest_everything

        return ingest_everything(Settings.from_env(), get_current_context()["run_id"]).as_dict()

    @task
    @fail_fast
    def refresh_features(extracted: dict) -> dict:
        from kaizen.config import Settings
        from kaizen.features.refresh import refresh

        return refresh(Settings.from_env())

    def options():
        from kaizen.training.options import TrainOptions

        params = get_current_context()["params"]
        return TrainOptions(model=params["model"], test_days=params["test_days"])

    @task
    @outcome_note
    @fail_fast
    def train(features: dict) -> dict:
        from kaizen.config import Settings
        from kaizen.training.train import train_task

        return train_task(Settings.from_env(), options())

    @task(pool=REGISTRY_POOL)
    @outcome_note
    @fail_fast
    def gate(candidate: dict) -> dict:
        from kaizen.config import Settings
        from kaizen.training.train import gate_task

        return gate_task(Settings.from_env(), options(), candidate)

    @task(retries=0, pool=REGISTRY_POOL)  # a failed roll-out has already rolled back: see deploy_recommender
    @outcome_note
    def deploy(promoted: dict) -> dict:
        from kaizen.config import Settings
        from kaizen.serving.rollout import deploy

        return deploy(Settings.from_env())

    extracted = ingest_events()
    check_source() >> extracted
    deploy(gate(train(refresh_features(extracted))))


kaizen_e2e()
