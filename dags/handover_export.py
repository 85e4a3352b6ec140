"""handover_export: a registered model, or the lake's newest days, as a bundle for a partner.

On demand, with Params: ``what`` to export (``model``: the ``version``, empty for the current
@champion; ``data-snapshot``: the newest ``days`` of events with the feature definitions, for a
partner to train on) and who the ``producer`` is (recorded as provenance). The bundle is a
.tar.gz in KAIZEN_HANDOVER_DIR/outgoing with a SHA-256 manifest of every file; the run's note gives
its path and the manifest's digest, to send the partner over another channel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from kaizen.config import Settings
from kaizen.dag_defaults import default_args, fail_fast, outcome_note
from kaizen.registry.choices import version_param

SETTINGS = Settings.from_env()


@dag(
    dag_id="handover_export",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kaizen", "handover"],
    doc_md=__doc__,
    # Writes one new file from what is registered: safe to repeat.
    default_args=default_args(retries=1, timeout=timedelta(minutes=30)),
    params={
        "what": Param("model", enum=["model", "data-snapshot"], description="A model, or data to train on."),
        "version": Param(
            None,
            type=["null", "string"],
            description="The model's registry version; empty exports the current @champion.",
            **version_param(SETTINGS.mlflow_tracking_uri, SETTINGS.model_name),
        ),
        "days": Param(14, type="integer", minimum=1, description="A data snapshot's newest days of events."),
        "producer": Param(
            None, type=["null", "string"], description="Who exports, recorded as provenance; empty: user@host."
        ),
    },
)
def handover_export():
    @task
    @outcome_note
    @fail_fast
    def export() -> dict:
        from kaizen.handover.export import export_model, export_snapshot

        params, settings = get_current_context()["params"], Settings.from_env()
        producer = params["producer"] or ""
        if params["what"] == "model":
            return export_model(settings, params["version"], producer=producer).as_dict()
        return export_snapshot(settings, int(params["days"]), producer=producer).as_dict()

    export()


handover_export()
