"""train_recommender: nightly, and whenever new features land, train and gate a new version.

check_params -> train -> gate -> archive_refused

``train`` fits a model on the training window and registers it as ``kaizen-recommender``. The
family is ``model`` ("auto": the best of the candidate families on a validation window cut
from the training window) and ``tune`` searches its parameters there (each trial a nested
MLflow run; "auto": when monitoring started the run or the last search is a week old). The
test window is never seen until the chosen model is scored on it. ``gate`` compares it with
the champion on that same test window: it becomes ``@champion`` only if it beats it, else
``@challenger`` with the reason recorded. A promotion updates the ``model_champion`` Asset,
which deploys it. ``gate`` and ``archive_refused`` (which deletes refused versions after
KAIZEN_CHALLENGER_RETENTION_DAYS; their runs keep them) run in the ``kaizen_registry`` pool of
one slot, with every other task that moves ``@champion``. monitor_recommender starts this DAG
too, on drift or a quality drop, with the reason in ``retrain_reason``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, TriggerRule, dag, get_current_context, task

from kaizen.assets import FEATURES, MODEL_CHAMPION
from kaizen.config import REGISTRY_POOL
from kaizen.dag_defaults import default_args, fail_fast, outcome_note
from kaizen.models import AUTO_FAMILY, CANDIDATE_FAMILIES, MODELS
from kaizen.registry.gate import MIN_OVERRIDE_REASON


@dag(
    dag_id="train_recommender",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 2 * * *", timezone="UTC"), assets=[FEATURES]),
    # No start_date: a fresh install waits for the next 02:00 instead of training at once on
    # whatever the lake holds (CronTriggerTimetable's run_immediately=False).
    catchup=False,
    max_active_runs=1,
    tags=["kaizen", "training"],
    doc_md=__doc__,
    default_args=default_args(retries=1, timeout=timedelta(hours=4), retry_delay=timedelta(minutes=2)),
    params={
        "model": Param(
            AUTO_FAMILY,
            enum=[AUTO_FAMILY, *sorted(MODELS)],
            description=f"Model family; auto: the best of {', '.join(CANDIDATE_FAMILIES)} on the validation window.",
        ),
        "train_days": Param(30, type="number", minimum=1, description="Days of history before the test window."),
        "test_days": Param(2, type="number", minimum=0.5, description="Last days held out to evaluate and gate on."),
        "tune": Param(
            "auto",
            enum=["auto", "always", "never"],
            description="Search parameters on the validation window; auto: when the data changed enough.",
        ),
        "tuning_budget": Param(6, type="integer", minimum=1, maximum=50, description="Trials per family when tuning."),
        "primary_metric": Param(
            "mrr_20", enum=["mrr_20", "hr_20", "ndcg_20"], description="The metric the challenger must win on."
        ),
        "margin": Param(
            0.0, type="number", minimum=0, description="How much better (absolute) the challenger must be."
        ),
        "tolerance": Param(0.01, type="number", minimum=0, description="How much worse it may be on HR@20 meanwhile."),
        "force_promote": Param(False, type="boolean", description="Promote even if the gate refuses (needs a reason)."),
        "force_reason": Param(
            None,
            type=["null", "string"],
            minLength=MIN_OVERRIDE_REASON,
            description=f"Why the gate is overridden ({MIN_OVERRIDE_REASON}+ characters); required with force_promote.",
        ),
        "retrain_reason": Param(
            None,
            type=["null", "string"],
            description="Why this run was started, if not by the clock or new features (set by monitor_recommender).",
        ),
    },
)
def train_recommender():
    def options():
        from kaizen.training.options import options_from_params

        return options_from_params(get_current_context()["params"])

    @task(retries=0)
    @fail_fast
    def check_params() -> None:
        """Rules that span Params (the form checks each one alone), before any work starts."""
        options()

    @task
    @outcome_note
    @fail_fast
    def train() -> dict:
        from kaizen.config import Settings
        from kaizen.training.train import train_task

        return train_task(Settings.from_env(), options())

    @task(outlets=[MODEL_CHAMPION], pool=REGISTRY_POOL)
    @outcome_note
    @fail_fast
    def gate(candidate: dict) -> dict:
        from kaizen.config import Settings
        from kaizen.training.train import gate_task

        return gate_task(Settings.from_env(), options(), candidate)

    @task(pool=REGISTRY_POOL, trigger_rule=TriggerRule.NONE_FAILED)  # after a skip too; a failure fails the run
    def archive_refused() -> list[str]:
        from kaizen.config import Settings
        from kaizen.registry.retention import archive_refused

        settings = Settings.from_env()
        return archive_refused(settings.mlflow_tracking_uri, settings.model_name, settings.challenger_retention_days)

    candidate = train()
    check_params() >> candidate
    gate(candidate) >> archive_refused()


train_recommender()
