"""`kaizen maturity` reads the platform's state off the running services: on a fresh stack it
reports each criterion that fails with its evidence; after the pipeline ran, those that now hold."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from mlflow import MlflowClient

from conftest import run_kaizen
from kaizen.maturity.assessment import Assessment
from kaizen.maturity.criteria import BY_ID, CRITERIA, PIPELINE_DAGS
from kaizen.maturity.evidence import FAILS, HOLDS, UNKNOWN, Finding
from kaizen.maturity.frameworks import AZURE, GOOGLE, JOHN
from kaizen.maturity.report import render
from kaizen.maturity.tracking import EXPERIMENT
from kaizen.stack.demo import airflow_client, run_dag


def assessment_of(holding: set[str], unknown: frozenset[str] = frozenset()) -> Assessment:
    findings = tuple(
        Finding(c.id, HOLDS if c.id in holding else UNKNOWN if c.id in unknown else FAILS, ("evidence",))
        for c in CRITERIA
    )
    return Assessment(findings, datetime(2026, 12, 1, tzinfo=UTC), {"model": "m", "airflow": "a", "mlflow": "b"})


def test_a_stage_needs_every_criterion_of_its_level_and_of_those_below():
    at_level_1 = {c.id for c in CRITERIA if c.levels["google"] == 1}
    assert assessment_of(at_level_1).stage(GOOGLE) == 1
    assert assessment_of(at_level_1 - {"gate"}).stage(GOOGLE) == 0
    # Every level-2 practice, but one level-1 practice missing: still level 0.
    level_2 = {c.id for c in CRITERIA if c.levels["google"] == 2}
    assert assessment_of(level_2 | at_level_1 - {"pipelines"}).stage(GOOGLE) == 0
    assert assessment_of(set(BY_ID)).stage(AZURE) == 4 and assessment_of(set(BY_ID)).stage(JOHN) == 4
    assert assessment_of(set(), unknown=frozenset(BY_ID)).stage(JOHN) == 0  # unknown is not evidence


def test_the_next_steps_are_the_failing_criteria_nearest_to_a_higher_stage():
    steps = assessment_of({"feature_store"}).next_steps()
    assert len(steps) == 3 and "feature_store" not in {c.id for c in steps}
    # CI is Azure's only level-1 criterion: the nearest step there.
    assert steps[0].id == "ci"
    assert assessment_of(set(BY_ID)).next_steps() == []


def test_every_format_says_the_same(tmp_path):
    assessment = assessment_of({"ci", "feature_store"})
    text, md, page = (render(assessment, fmt) for fmt in ("table", "markdown", "html"))
    data = json.loads(render(assessment, "json"))
    assert data["stages"]["azure"]["level"] == 1 and data["stages"]["john"]["label"] == "DataOps"
    for shown in (text, md, page):
        assert "Microsoft Azure: level 1: DevOps but no MLOps" in shown and BY_ID["gate"].title in shown
    assert "kaizen maturity --check gate" in md and "kaizen maturity --check gate" in page
    assert page.startswith("<!doctype html>") and 'class="holds"' in page
    partial = Assessment(assessment.findings[:1], assessment.assessed_at, assessment.platform)
    assert "stages" not in json.loads(render(partial, "json")) and "not placed" in render(partial, "table")


def test_only_a_whole_assessment_is_logged():
    result = run_kaizen(dict(os.environ), "maturity", "--check", "ci", "--log")
    assert result.returncode == 2 and "--log logs whole assessments only" in result.stderr


def assess(env: dict[str, str], *args: str) -> dict:
    result = run_kaizen(env, "maturity", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def by_criterion(report: dict) -> dict[str, dict]:
    return {c["criterion"]: c for c in report["criteria"]}


@pytest.mark.stack
@pytest.mark.fresh_stack
def test_a_fresh_stack_fails_the_criteria_with_their_evidence(stack, stack_env):
    report = assess(stack_env)
    found = by_criterion(report)
    assert set(found) == set(BY_ID)
    assert all(c["evidence"] and c["recheck"] == f"kaizen maturity --check {c['criterion']}" for c in found.values())
    failing = {k for k, c in found.items() if c["status"] == FAILS}
    assert {"pipelines", "gate", "feature_store", "registry", "rollouts", "monitoring", "retraining"} <= failing

    pipelines = found["pipelines"]["evidence"]
    assert [line.split(":")[0] for line in pipelines] == list(PIPELINE_DAGS)
    assert all(": paused," in line and line.endswith("no run") for line in pipelines)
    assert found["gate"]["evidence"][1].startswith("runs the gate decided on: 0 ")
    assert found["ci"]["status"] != HOLDS or "passed" in found["ci"]["evidence"][0]
    assert found["registry"]["evidence"][0] == "no @champion alias"
    assert found["rollouts"]["evidence"][0] == "roll-outs verified: 0"
    assert found["monitoring"]["evidence"][0] == "online_quality: 0 rows, the newest never"
    # The test stack's alerts go to a local receiver; the report names its host, never its URL.
    assert found["alerts"]["status"] == HOLDS
    assert "127.0.0.1" in found["alerts"]["evidence"][0] and "/hooks/" not in json.dumps(report)

    assert report["stages"]["google"]["level"] == 0 and report["stages"]["john"]["label"] == "Ad hoc"
    assert len(report["next_steps"]) == 3

    one = run_kaizen(stack_env, "maturity", "--check", "registry")
    assert one.returncode == 1 and "no @champion alias" in one.stdout and "not placed" in one.stdout


@pytest.mark.stack
def test_after_the_pipeline_ran_the_criteria_it_exercised_hold(stack, stack_env, e2e_run, replayed, tmp_path):
    # A refused challenger: the champion handed over to itself wins nothing on the same data.
    bundle = tmp_path / "same.tar.gz"
    assert run_kaizen(stack_env, "handover", "export", "-o", str(bundle)).returncode == 0
    assert run_kaizen(stack_env, "handover", "import", str(bundle)).returncode == 0
    assert run_kaizen(stack_env, "monitor").returncode == 0  # measures the replayed answers

    report = assess(stack_env)
    found = by_criterion(report)
    holding = {k for k, c in found.items() if c["status"] == HOLDS}
    assert {"gate", "feature_store", "registry", "monitoring", "alerts"} <= holding, found
    assert any(line.startswith("last refusal: v") for line in found["gate"]["evidence"])
    assert "recommender_v1, serving_v1" in found["feature_store"]["evidence"][0]
    assert found["registry"]["evidence"][1].startswith("the model server at")
    assert not found["rollouts"]["evidence"][0].endswith(": 0")  # the pipeline's deploy was verified
    # The test stack keeps its DAGs paused: the nightly loop does not hold, and says why.
    assert found["pipelines"]["status"] == FAILS and ": paused," in found["pipelines"]["evidence"][0]
    assert report["stages"]["john"]["level"] >= 1

    page = tmp_path / "maturity.html"
    assert run_kaizen(stack_env, "maturity", "--format", "html", "-o", str(page)).returncode == 0
    assert "kaizen-recommender@champion" in page.read_text()


@pytest.mark.stack
def test_the_weekly_dag_logs_the_report_to_mlflow(stack, e2e_run):
    client = airflow_client(stack)
    try:
        run_id = run_dag(stack, "maturity_report")
    finally:
        client.request("PATCH", "/dags/maturity_report", json={"is_paused": True})
    note = client.request("GET", f"/dags/maturity_report/dagRuns/{run_id}")["note"]
    assert f"criteria hold; {GOOGLE.name} level" in note and "Next: " in note

    mlflow = MlflowClient(stack.mlflow_tracking_uri)
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    (run,) = mlflow.search_runs([experiment.experiment_id], order_by=["start_time DESC"], max_results=1)
    assert {"stage_google", "stage_azure", "stage_john", "criteria_holding"} <= run.data.metrics.keys()
    assert run.data.tags["kaizen.maturity.feature_store"] == HOLDS
    assert {a.path for a in mlflow.list_artifacts(run.info.run_id)} == {"maturity.md", "maturity.html", "maturity.json"}
