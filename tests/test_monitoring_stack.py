"""monitor_recommender on the embedded stack: replayed shoppers, the real model server's
prediction log, Airflow, Kaizen's database and MLflow."""

from __future__ import annotations

import time

import psycopg2
from mlflow import MlflowClient

from kaizen import lake
from kaizen.monitoring.replay import replay
from kaizen.stack.demo import airflow_client


def _logged(url: str, session_ids: list[str]) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM prediction_log WHERE session_id = ANY(%s)", (session_ids,))
        (count,) = cur.fetchone()
    conn.close()
    return count


def test_monitoring_measures_replayed_traffic_and_reports_it_on_the_served_version(stack, e2e_run, alert_receiver):
    events = lake.read_events(stack.lake_dir, ["session_id", "item_id", "event_type", "occurred_at"], newest_days=2)
    newest_day = events["occurred_at"].max().floor("D")
    began = events.groupby("session_id")["occurred_at"].min()
    views = events[events["event_type"] == "view"].groupby("session_id").size()
    chosen = views[(views >= 3) & (began.reindex(views.index) >= newest_day)].index[:60]  # whole sessions
    replayed = events[events["session_id"].isin(chosen)]
    sent = replay(stack.model_server_url, replayed)
    ids = list(replayed["session_id"].unique())
    deadline = time.monotonic() + 30
    while _logged(stack.kaizen_db_url, ids) < sent and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _logged(stack.kaizen_db_url, ids) == sent

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
