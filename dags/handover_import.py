"""handover_import: a partner's model bundle in, through the same gate as Kaizen's own.

verify_and_register -> gate

On demand, with the Params ``bundle_path`` (empty: the newest bundle in
KAIZEN_HANDOVER_DIR/incoming) and ``sha256`` (the manifest's digest the partner sent by
another channel). ``verify_and_register`` refuses, with the reason, a bundle that is not the
one announced or whose files do not match its manifest, whose model is of a kind the model
server cannot load, needs a feature Kaizen's feature store lacks, was trained on events of
another schema or on days of Kaizen's test window; a bundle imported before is skipped.
Otherwise it scores the model on the lake's test window and registers it with its provenance
(``kaizen.handover.*`` tags, the intake run in MLflow's ``kaizen-handover`` experiment).
``gate`` then judges it against the champion on that window, in the ``kaizen_registry`` pool
like every task that moves ``@champion``; a promotion updates ``model_champion``, which
deploys, and a refusal leaves it ``@challenger``.
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
            description="The model bundle (.tar.gz) to import; empty: the newest in KAIZEN_HANDOVER_DIR/incoming.",
        ),
        "sha256": Param(
            None,
            type=["null", "string"],
            pattern="^[0-9a-fA-F]{64}$",
            description="The manifest's SHA-256 the partner sent by another channel; the bundle must match it.",
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

        settings, params = Settings.from_env(), get_current_context()["params"]
        path = Path(params["bundle_path"]) if params["bundle_path"] else newest_bundle(settings)
        return import_bundle(settings, path, expected_sha256=params["sha256"]).as_dict()

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
