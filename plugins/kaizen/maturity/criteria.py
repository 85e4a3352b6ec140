"""What the assessment checks: each criterion, the level it belongs to on each maturity model,
and the step that makes it hold. The checks themselves are in ``kaizen.maturity.evidence``.

The levels are the lowest at which a model expects the practice (docs/maturity.md quotes the
passages). A practice a model names only in passing sits at the level whose text implies it.
"""

from __future__ import annotations

from dataclasses import dataclass

# The DAGs that make the nightly loop: each must be scheduled, unpaused and succeeding.
PIPELINE_DAGS = (
    "ingest_shop_events",
    "materialize_features",
    "train_recommender",
    "deploy_recommender",
    "monitor_recommender",
)


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    levels: dict[str, int]  # framework key -> the lowest level that expects it
    step: str  # what to do when it fails

    @property
    def recheck(self) -> str:
        return f"kaizen maturity --check {self.id}"


CRITERIA = (
    Criterion(
        "ci",
        "CI runs the tests and is green",
        {"google": 2, "azure": 1, "john": 2},
        "Run `bash .ci/run` on every change (it records its result in .ci/last-run.json).",
    ),
    Criterion(
        "pipelines",
        "The pipeline DAGs are scheduled, unpaused and succeeding",
        {"google": 1, "azure": 2, "john": 3},
        "Unpause the pipeline DAGs (`kaizen airflow dags unpause DAG`), let the nightly chain run, fix a failed run.",
    ),
    Criterion(
        "gate",
        "An automated gate decides promotions and has refused a challenger",
        {"google": 1, "azure": 4, "john": 3},
        "Let train_recommender's gate decide every promotion; a challenger it refused shows it works.",
    ),
    Criterion(
        "feature_store",
        "One feature store serves training and serving",
        {"google": 1, "azure": 2, "john": 1},
        "Run materialize_features: it registers the feature services in Feast and fills the online store.",
    ),
    Criterion(
        "registry",
        "The registry names the served model by alias",
        {"google": 2, "azure": 2, "john": 2},
        "Promote a version through the gate (@champion) and deploy it: the model server follows the alias.",
    ),
    Criterion(
        "rollouts",
        "Roll-outs are verified, and a rollback has worked",
        {"google": 2, "azure": 3, "john": 3},
        "Deploy through deploy_recommender (it verifies and rolls back); rehearse a rollback once.",
    ),
    Criterion(
        "monitoring",
        "Monitoring measures the served model's quality, recently",
        {"google": 1, "azure": 4, "john": 2},
        "Run monitor_recommender after each ingestion (it runs on the lake_events Asset when unpaused).",
    ),
    Criterion(
        "retraining",
        "Retraining triggers exist and have fired",
        {"google": 1, "azure": 4, "john": 4},
        "Unpause train_recommender (nightly and on new features) and monitor_recommender (drift, quality).",
    ),
    Criterion(
        "alerts",
        "Alerts have a receiver",
        {"google": 2, "azure": 4, "john": 3},
        "Set KAIZEN_ALERT_WEBHOOK_URL for Airflow's tasks (a Slack-compatible webhook).",
    ),
)
BY_ID = {criterion.id: criterion for criterion in CRITERIA}
