"""Monitoring: the drift scenario's lags and online quality, and monitoring's cost at scale.

1. The drift scenario (``kaizen scenario drift``) on a private embedded stack: a generated shop
   whose popularity shifts and which gains a category on day D; shoppers replayed day by day
   against the model server; monitoring after each day's ingestion; retraining when it asks.
   Figures: detection lag (days from D to the first day monitoring flags drift), retraining
   start lag, how many days after D the champion the loop settles on first serves, online
   HR@20 before D, during (D until then) and after, and false alarms before D. Reference: the
   first version's offline HR@20 on its test day (online/offline ratios).
2. Monitoring's run time over ~1M logged answers: a prediction log of one request per view of
   a generated shop's week (every session's prefixes, as the replay sends them) in a scratch
   Kaizen database, judged against that week in a scratch lake: read the log, read the lake,
   join and measure, store; three times, medians (and the slowest). Reference: reading the log
   alone (ratio).
"""

from __future__ import annotations

import io
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2
import pyarrow as pa
from mlflow import MlflowClient

from bench.common import scratch_database
from kaizen import database, lake
from kaizen.config import Settings
from kaizen.monitoring import online_quality, scenario, store
from kaizen.monitoring.replay import requests_of
from kaizen.serving.prediction_log import COPY, copy_line
from kaizen.shop.generator import ShopSpec, generate
from kaizen.stack import embedded

SCALE_EVENTS = 1_400_000  # about 1M requests: one per view that another view followed
REPEATS = 3  # the timed monitoring run, over the same log and lake: medians


def _scenario() -> dict[str, float]:
    spec = scenario.ScenarioSpec()
    # Paused DAGs: the scenario runs the stages itself; a scheduled run must not join in.
    env = {**os.environ, **embedded.private_env("kaizen-bench-monitoring-"), "KAIZEN_START_PAUSED": "true"}
    settings = Settings.from_env(env)
    try:
        stack = embedded.up(settings).settings
        timeline = scenario.run(stack, spec, say=lambda line: print(f"  {line}", flush=True))
        first = MlflowClient(stack.mlflow_tracking_uri).get_model_version(stack.model_name, "1")
        offline_hr = MlflowClient(stack.mlflow_tracking_uri).get_run(first.run_id).data.metrics["hr_20"]
    finally:
        embedded.down(settings)
        shutil.rmtree(settings.home, ignore_errors=True)
    drift_at = spec.drift_day - spec.first_served_day  # the drift day's index in the timeline
    flagged = [i for i, day in enumerate(timeline) if day.drifted]
    started = [i for i, day in enumerate(timeline) if day.retraining.startswith("started") and i >= drift_at]
    first_version = timeline[0].served
    before = [d.online_hr_at_20 for d in timeline[:drift_at] if d.online_hr_at_20 is not None]
    final = timeline[-1].served  # the champion the loop settled on
    recovered = next((i for i, d in enumerate(timeline) if i > drift_at and d.served == final != first_version), None)
    settled = recovered if recovered is not None else len(timeline)
    during = [d.online_hr_at_20 for d in timeline[drift_at:settled] if d.online_hr_at_20 is not None]
    after = [d.online_hr_at_20 for d in timeline[settled:] if d.online_hr_at_20 is not None]
    print("timeline:\n" + "\n".join(f"  {scenario.describe(day)}" for day in timeline), flush=True)
    figures = {
        "scenario_days": float(len(timeline)),
        "scenario_answers": float(sum(d.answers for d in timeline)),
        "drift_day_index": float(drift_at),
        "false_alarm_days_before_drift": float(sum(1 for i in flagged if i < drift_at)),
        "detection_lag_days": float(min(i for i in flagged if i >= drift_at) - drift_at) if flagged else -1.0,
        "retrain_start_lag_days": float(started[0] - drift_at) if started else -1.0,
        "recovered_champion_serving_lag_days": float(recovered - drift_at) if recovered is not None else -1.0,
        "online_hr20_before": round(statistics.mean(before), 4) if before else -1.0,
        "online_hr20_during": round(statistics.mean(during), 4) if during else -1.0,
        "online_hr20_after": round(statistics.mean(after), 4) if after else -1.0,
        "offline_hr20_first_version": round(offline_hr, 4),
        "scenario_day_median_s": statistics.median(d.seconds for d in timeline),
    }
    if before and after:
        ratio = figures["online_hr20_after"] / figures["online_hr20_before"]
        figures["ratio_online_hr20_after_to_before"] = round(ratio, 3)
    if before:
        figures["ratio_online_hr20_before_to_offline"] = round(figures["online_hr20_before"] / offline_hr, 3)
    return figures


def _scale() -> dict[str, float]:
    catalogue, chunks = generate(ShopSpec(events=SCALE_EVENTS, seed=11, days=7))
    events = pd.concat(list(chunks), ignore_index=True)
    asked = requests_of(events)
    rng = np.random.default_rng(0)
    items = catalogue["item_id"].to_numpy()
    recommended = items[rng.integers(0, len(items), (len(asked), 20))]
    with scratch_database("kaizen_bench_monitoring") as url, tempfile.TemporaryDirectory() as lake_dir:
        database.migrate(url)
        started = time.perf_counter()
        _log(url, asked, recommended)
        load_s = time.perf_counter() - started
        days = sorted(events["occurred_at"].dt.date.unique())
        table = pa.Table.from_pandas(events[online_quality.EVENT_COLUMNS], preserve_index=False)
        lake.replace_days(table, Path(lake_dir), days, pa.array(events["occurred_at"].dt.strftime("%Y-%m-%d")))
        since = pd.Timestamp("2000-01-01", tz="UTC").to_pydatetime()
        reads, totals = [], []
        for repeat in range(REPEATS):
            started = time.perf_counter()
            answers = store.read_answers(url, since)
            reads.append(time.perf_counter() - started)
            lake_events = lake.read_events(Path(lake_dir), online_quality.EVENT_COLUMNS, newest_days=8)
            measured = online_quality.measure(answers, lake_events)
            store.write_quality(url, measured.per_day, f"bench-{repeat}")
            totals.append(time.perf_counter() - started)
            del answers, lake_events
    read_s, total_s = statistics.median(reads), statistics.median(totals)
    return {
        "scale_logged_answers": float(len(asked)),
        "scale_lake_events": float(len(events)),
        "scale_unmatched_answers": float(measured.unmatched),
        "scale_log_load_s": round(load_s, 1),
        "scale_read_log_s": round(read_s, 1),
        "scale_monitoring_run_s": round(total_s, 1),
        "scale_monitoring_run_max_s": round(max(totals), 1),
        "ratio_scale_monitoring_to_read_log": round(total_s / read_s, 2),
    }


def _log(url: str, asked: list[tuple[str, list[str]]], recommended: np.ndarray) -> None:
    """The prediction log the model server would have written for ``asked``, in one COPY."""
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    text = io.StringIO(
        "".join(
            copy_line(now, sid, items, list(top), "kaizen-recommender", "1", 1.0, "online")
            for (sid, items), top in zip(asked, recommended, strict=True)
        )
    )
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.copy_expert(COPY, text)
    finally:
        conn.close()


def run() -> dict[str, float]:
    return {**_scale(), **_scenario()}
