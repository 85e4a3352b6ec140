"""The weekly report in MLflow: one run per assessment in the ``kaizen-maturity`` experiment,
the stages as metrics (a trend across runs in MLflow's charts), each criterion's status as a
tag, the reports as artifacts (the HTML one renders in MLflow's artifact view)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow

from kaizen.config import Settings
from kaizen.maturity import report
from kaizen.maturity.assessment import Assessment
from kaizen.maturity.frameworks import FRAMEWORKS

EXPERIMENT = "kaizen-maturity"
FILES = {"markdown": "maturity.md", "html": "maturity.html", "json": "maturity.json"}


def log_assessment(settings: Settings, assessment: Assessment) -> str:
    """Log ``assessment`` as a new run; its id. Only a whole one: a partial assessment's stages
    would put false zeros in the trend."""
    if not assessment.complete:
        raise ValueError("only an assessment of every criterion is logged")
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=f"maturity-{assessment.assessed_at:%Y-%m-%d}") as run:
        mlflow.log_metrics(
            {f"stage_{f.key}": assessment.stage(f) for f in FRAMEWORKS}
            | {"criteria_holding": len(assessment.holding())}
        )
        mlflow.set_tags({f"kaizen.maturity.{f.criterion}": f.status for f in assessment.findings})
        with tempfile.TemporaryDirectory() as tmp:
            for fmt, name in FILES.items():
                (Path(tmp) / name).write_text(report.render(assessment, fmt))
            mlflow.log_artifacts(tmp)
    return run.info.run_id


def weekly_report(settings: Settings) -> dict:
    """The maturity_report DAG's task: assess with Airflow's API user, log the run; the summary
    and a one-line note for the run's page."""
    from kaizen.maturity import sources
    from kaizen.maturity.assessment import assess

    assessment = assess(sources(settings, in_task=True))
    run_id = log_assessment(settings, assessment)
    stages = {f.key: assessment.stage(f) for f in FRAMEWORKS}
    steps = assessment.next_steps(1)
    note = (
        f"{len(assessment.holding())} of {len(assessment.findings)} criteria hold; "
        + ", ".join(f"{f.name} {f.label(stages[f.key])}" for f in FRAMEWORKS)
        + (f". Next: {steps[0].title}" if steps else "")
    )
    return {"run_id": run_id, "stages": stages, "holding": sorted(assessment.holding()), "note": note}
