"""train_recommender: nightly, and whenever new features land, train and gate a new version.

Trains the chosen model family on the training window, optionally tunes it on a
validation window (each trial a nested MLflow run), evaluates it on the test window,
registers it as ``kaizen-recommender`` and runs the champion/challenger gate: the version
becomes ``@champion`` only if it beats the current one on the same test window, else
``@challenger`` with the reason recorded. A promotion updates the ``model_champion``
Asset, which deploys it. monitor_recommender starts it too, on drift or a quality drop, with
the reason in ``retrain_reason`` (recorded on the MLflow run).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from kaizen.assets import FEATURES, MODEL_CHAMPION
from kaizen.dag_defaults import default_args, fail_fast, outcome_note
from kaizen.models import DEFAULT_FAMILY, MODELS
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
            DEFAULT_FAMILY, enum=sorted(MODELS), description="Model family to train (vstan: best on RetailRocket)."
        ),
        "train_days": Param(30, type="number", minimum=1, description="Days of history before the test window."),
        "test_days": Param(2, type="number", minimum=0.5, description="Last days held out to evaluate and gate on."),
        "tune": Param(False, type="boolean", description="Search hyper-parameters on a validation window first."),
        "tuning_budget": Param(6, type="integer", minimum=1, maximum=50, description="Trials when tuning."),
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
    @task(retries=0)
    @fail_fast
    def check_params() -> None:
        """Rules that span Params (the form checks each one alone), before any work starts."""
        from kaizen.training.options import options_from_params

        options_from_params(get_current_context()["params"])

    @task(outlets=[MODEL_CHAMPION])
    @outcome_note
    @fail_fast
    def train_and_gate() -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from kaizen.config import Settings
        from kaizen.training.options import options_from_params
        from kaizen.training.train import train_recommender

        result = train_recommender(Settings.from_env(), options_from_params(get_current_context()["params"]))
        if not result["promoted"]:
            # Kept as @challenger: the champion did not change, so deploy must not run.
            raise AirflowSkipException(result["note"])
        return result

    check_params() >> train_and_gate()


train_recommender()
