"""deploy_recommender: serve a registered version safely, whenever a new champion is promoted.

Runs on the ``model_champion`` Asset (a promotion by train_recommender) and on demand with
Params: which ``version`` (a list of the registered versions with their aliases and gate
decisions; empty: the current @champion), why (``reason``: required to deploy any other
version, such as a rollback) and which ``strategy``. A deploy someone triggered is tagged on
the version with who and why; the run's note says what changed.

- ``local`` target (embedded stack, docker compose): points @champion at the version,
  waits until the model server serves it, sends smoke requests and checks latency; on any
  failure moves @champion back to the previous version and fails with the reason.
- ``kubernetes`` target: renders the SeldonDeployment (replace, canary or shadow) and
  stores it with the version's run in MLflow, ready for ``kubectl apply``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from kaizen.assets import MODEL_CHAMPION
from kaizen.config import REGISTRY_POOL, Settings
from kaizen.dag_defaults import default_args, fail_fast, outcome_note
from kaizen.registry.choices import version_param
from kaizen.registry.gate import MIN_OVERRIDE_REASON
from kaizen.serving.manifests import STRATEGIES

SETTINGS = Settings.from_env()


@dag(
    dag_id="deploy_recommender",
    schedule=[MODEL_CHAMPION],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kaizen", "serving"],
    doc_md=__doc__,
    # A failed roll-out has already rolled back; repeating it would re-serve the version that failed.
    default_args=default_args(retries=0, timeout=timedelta(minutes=30)),
    params={
        "version": Param(
            None,
            type=["null", "string"],
            description="Registry version to deploy; empty deploys the current @champion.",
            **version_param(SETTINGS.mlflow_tracking_uri, SETTINGS.model_name),
        ),
        "reason": Param(
            None,
            type=["null", "string"],
            minLength=MIN_OVERRIDE_REASON,
            description=f"Why (at least {MIN_OVERRIDE_REASON} characters): required for any version but the champion.",
        ),
        "strategy": Param(
            "replace", enum=list(STRATEGIES), description="replace, canary (traffic split) or shadow (mirrored)."
        ),
        "canary_percent": Param(
            10, type="integer", minimum=1, maximum=99, description="Traffic to the new version in a canary."
        ),
        "target": Param(SETTINGS.deploy_target, enum=["local", "kubernetes"], description="Where to deploy."),
    },
)
def deploy_recommender():
    def request():
        from kaizen.serving.rollout import DeployRequest

        context = get_current_context()
        return DeployRequest.from_params(context["params"], context["dag_run"].triggering_user_name)

    @task
    @fail_fast
    def check_request() -> None:
        """A rollback without a reason fails here, before anything is rendered or moved."""
        from kaizen.serving.rollout import check_request

        check_request(Settings.from_env(), request())

    @task
    @fail_fast
    def render_manifest() -> dict:
        from kaizen.serving.manifest_store import render_and_store

        params = get_current_context()["params"]
        return render_and_store(Settings.from_env(), params["version"], params["strategy"], params["canary_percent"])

    @task(pool=REGISTRY_POOL)  # moves @champion: one such task at a time across all DAGs
    @outcome_note
    @fail_fast
    def roll_out(rendered: dict) -> dict:
        from kaizen.serving.rollout import deploy

        if get_current_context()["params"]["target"] == "kubernetes":
            return {
                "manifest": rendered["artifact"],
                "applied": False,
                "note": f"rendered {rendered['artifact']} (v{rendered['version']}): apply with kubectl or Terraform",
            }
        return deploy(Settings.from_env(), rendered["version"], request())

    check_request() >> roll_out(render_manifest())


deploy_recommender()
