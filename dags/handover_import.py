"""handover_import: a partner's model bundle in, through the same gate as Kaizen's own.

verify_and_register -> gate

On demand, with the Param ``bundle_path`` (empty: the newest bundle in KAIZEN_HANDOVER_DIR).
``verify_and_register`` refuses, with the reason, a bundle whose files do not match its
SHA-256 manifest, whose model needs a feature Kaizen's feature store lacks, was trained on
events of another schema, or is of a kind the model server cannot load; otherwise it scores
the model on the lake's test window and registers it as ``@challenger`` with its provenance
(``kaizen.handover.*`` tags, the intake run in MLflow's ``kaizen-handover`` experiment).
``gate`` then judges it against the champion on that window, in the ``kaizen_registry`` pool
like every task that moves ``@champion``; a promotion updates ``model_champion``, which deploys.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import Param, dag, get_current_context, task

from kaizen.assets import MODEL_CHAMPION
from kaizen.config import REGISTRY_POOL
from kaizen.dag_defaults import default_args, fail_fast, outcome_note


@dag(
    dag_id="handover_import",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kaizen", "handover"],
    doc_md=__doc__,
    # A refused bundle stays refused; a registered one must not be registered twice.
    default_args=default_args(retries=0, timeout=timedelta(hours=1)),
    params={
        "bundle_path": Param(
            None,
            type=["null", "string"],
            description="The model bundle (.tar.gz) to import; empty: the newest in KAIZEN_HANDOVER_DIR.",
        ),
    },
)
def handover_import():
    @task
    @outcome_note
    @fail_fast
    def verify_and_register() -> dict:
        from kaizen.config import Settings
        from kaizen.handover.intake import import_bundle, newest_bundle

        settings, path = Settings.from_env(), get_current_context()["params"]["bundle_path"]
        return import_bundle(settings, Path(path) if path else newest_bundle(settings)).as_dict()

    @task(outlets=[MODEL_CHAMPION], pool=REGISTRY_POOL)  # moves @champion: one such task at a time
    @outcome_note
    @fail_fast
    def gate(candidate: dict) -> dict:
        from kaizen.config import Settings
        from kaizen.training.options import TrainOptions
        from kaizen.training.train import gate_task

        return gate_task(Settings.from_env(), TrainOptions(), candidate)

    gate(verify_and_register())


handover_import()
