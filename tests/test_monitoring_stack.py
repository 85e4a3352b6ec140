"""monitor_recommender on the embedded stack: replayed shoppers, the real model server's
prediction log, Airflow, Kaizen's database and MLflow."""

from __future__ import annotations

import psycopg2
from mlflow import MlflowClient

from kaizen import lake
from kaizen.stack.demo import airflow_client


def newest_lake_day(stack) -> str:
    events = lake.read_events(stack.lake_dir, ["occurred_at"], newest_days=1)
    return events["occurred_at"].max().strftime("%Y-%m-%d")


def test_monitoring_measures_replayed_traffic_and_reports_it_on_the_served_version(stack, replayed, alert_receiver):
    sent = replayed
    client = airflow_client(stack)
    client.wait_for_dag("monitor_recommender")
    client.unpause("monitor_recommender")
    run_id = client.trigger("monitor_recommender")
    assert client.wait_for_run("monitor_recommender", run_id, timeout_s=600) == "success"
    states = client.task_states("monitor_recommender", run_id)
    assert states == {"measure": "success", "request_retraining": "skipped", "start_training": "skipped"}

    registry = MlflowClient(stack.mlflow_tracking_uri)
    served = registry.get_model_version_by_alias(stack.model_name, "champion")
    with psycopg2.connect(stack.kaizen_db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT answers, judged, hr_at_20, mrr_at_20, monitor_run FROM online_quality WHERE model_version = %s",
            (served.version,),
        )
        rows = cur.fetchall()
    conn.close()
    assert sum(row[0] for row in rows) >= sent  # every replayed answer joined its session
    assert all(0 <= row[3] <= row[2] <= 1 for row in rows) and {row[4] for row in rows} == {run_id}

    run = registry.get_run(served.run_id)
    assert 0 <= run.data.metrics["online_hr_at_20"] <= 1
    reports = [f.path for f in registry.list_artifacts(served.run_id, "monitoring")]
    assert reports and reports[0].endswith(".html")
    assert "drift" not in alert_receiver.kinds()  # no traffic after the training data: nothing to compare


def test_a_quality_drop_starts_training_with_the_reason_in_its_conf_and_note(stack, replayed, alert_receiver):
    """Given a served version that scored far better the day before, today's answers are a
    drop: monitoring alerts, records the request, updates the Asset and starts training."""
    client = airflow_client(stack)
    client.wait_for_dag("monitor_recommender")
    client.unpause("monitor_recommender")
    served = MlflowClient(stack.mlflow_tracking_uri).get_model_version_by_alias(stack.model_name, "champion").version
    with psycopg2.connect(stack.kaizen_db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO online_quality (model_name, model_version, day, answers, judged, hr_at_20, monitor_run) "
            "VALUES (%s, %s, %s::date - 1, 1000, 1000, 0.99, 'given')",
            (stack.model_name, served, newest_lake_day(stack)),
        )
    conn.close()

    run_id = client.trigger("monitor_recommender")
    assert client.wait_for_run("monitor_recommender", run_id, timeout_s=600) == "success"
    assert set(client.task_states("monitor_recommender", run_id).values()) == {"success"}
    alert = alert_receiver.wait_for("quality_drop", lambda details: details["version"] == served)
    assert alert["details"]["drop"] > 0.2

    runs = client.request("GET", "/dags/train_recommender/dagRuns")["dag_runs"]  # paused here: it stays queued
    (started,) = [r for r in runs if r["conf"].get("retrain_reason")]
    try:
        assert f"online HR@20 of v{served} fell" in started["conf"]["retrain_reason"]
        assert started["note"].startswith("Started by monitor_recommender: online HR@20")
        events = client.request("GET", "/assets/events", params={"source_dag_id": "monitor_recommender"})
        reasons = [e["extra"].get("reason", "") for e in events["asset_events"]]
        assert any(reason == started["conf"]["retrain_reason"] for reason in reasons)
    finally:
        client.request("DELETE", f"/dags/train_recommender/dagRuns/{started['dag_run_id']}")
