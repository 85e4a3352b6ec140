"""The pipeline at scale: generated shops of 1M and 10M events, through Airflow, to a served model.

For each size, on a private embedded stack: the shop is generated into the stack's shop
database (``kaizen shop generate``'s loader), then ``kaizen_e2e`` is triggered over Airflow's
REST API (ingest -> features -> train -> gate -> deploy: the run ends once the model server
serves the new champion) and one recommendation is asked for. Figures per size (``_1m``,
``_10m``):

- ``events``, ``shop_load_s`` (generation and COPY: the reference, measured in the same run);
- ``trigger_to_served_s``: from the trigger to the run's end, and one served answer;
- ``stage_s_<task>``: each task's duration, from Airflow's task instances;
- ``peak_rss_mb_<task>``: the largest resident set of any process under the scheduler (the
  task's own process) while the task ran, sampled every 0.2 s; ``peak_rss_mb`` the largest;
- ``us_per_event``: trigger-to-served time per event.

Across sizes: ``cost_per_event_ratio_10m_to_1m`` (goal: at most 1.3), ``ratio_1m_to_goal_s``
(180 s), ``ratio_10m_to_goal_s`` (1,200 s), ``ratio_10m_peak_rss_to_goal`` (8 GB), and
``ratio_trigger_to_shop_load_<size>``. ``python -m bench pipeline`` runs both sizes;
``KAIZEN_BENCH_PIPELINE_SIZES`` (e.g. ``1000000``) picks others.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime

import psutil

from bench.common import Sampler
from kaizen.config import Settings
from kaizen.serving.client import ModelServerClient
from kaizen.shop.generator import ShopSpec
from kaizen.shop.loaders import load_generated
from kaizen.stack import embedded
from kaizen.stack.demo import DAG_ID, airflow_client

GOAL_S = {1_000_000: 180.0, 10_000_000: 1200.0}
GOAL_RSS_MB = 8192.0
LABELS = {1_000_000: "1m", 10_000_000: "10m"}


class TaskMemory(Sampler):
    """The largest resident set among the scheduler's descendants (the task processes of the
    LocalExecutor), sampled every 0.2 s with its time."""

    def __init__(self):
        super().__init__(every_s=0.2)

    def measure(self) -> float:
        largest = 0
        for scheduler in _schedulers():
            try:
                children = scheduler.children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            for child in children:
                try:
                    largest = max(largest, child.memory_info().rss)
                except psutil.NoSuchProcess:
                    continue
        return largest / 2**20


def _schedulers() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(part.endswith("airflow") for part in cmdline) and "scheduler" in cmdline:
            found.append(process)
    return found


def one_size(events: int) -> dict[str, float]:
    label = LABELS.get(events, f"{events}")
    settings = Settings.from_env({**os.environ, **embedded.private_env(f"kaizen-bench-pipeline-{label}-")})
    try:
        settings = embedded.up(settings).settings
        started = time.perf_counter()
        loaded = load_generated(
            settings.demo_shop_db_url,
            ShopSpec(events=events, seed=5, days=30),
            progress=lambda n: print(f"  shop: {n:,} events", flush=True) if n % 2_000_000 < 200_000 else None,
        )
        load_s = time.perf_counter() - started
        client = airflow_client(settings)
        with TaskMemory() as memory:
            started = time.perf_counter()
            run_id = client.run(DAG_ID, say=lambda line: print(f"  {line}", flush=True), timeout_s=3 * 3600)
            answer = ModelServerClient(settings.model_server_url).recommend(["1", "2"], k=10)
            served_s = time.perf_counter() - started
        tasks = client.request("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
    finally:
        embedded.down(settings)
        shutil.rmtree(settings.home, ignore_errors=True)
    figures = {
        f"events_{label}": float(loaded["events"]),
        f"shop_load_s_{label}": round(load_s, 1),
        f"trigger_to_served_s_{label}": round(served_s, 1),
        f"us_per_event_{label}": round(served_s / loaded["events"] * 1e6, 3),
        f"ratio_trigger_to_shop_load_{label}": round(served_s / load_s, 2),
        f"served_items_{label}": float(len(answer.items)),
    }
    for task in tasks:
        start, end = (datetime.fromisoformat(task[k].replace("Z", "+00:00")) for k in ("start_date", "end_date"))
        figures[f"stage_s_{task['task_id']}_{label}"] = round((end - start).total_seconds(), 1)
        figures[f"peak_rss_mb_{task['task_id']}_{label}"] = round(memory.peak_between(start, end), 1)
    figures[f"peak_rss_mb_{label}"] = max(v for k, v in figures.items() if k.startswith("peak_rss_mb_"))
    return figures


def run() -> dict[str, float]:
    sizes = [int(s) for s in os.environ.get("KAIZEN_BENCH_PIPELINE_SIZES", "1000000,10000000").split(",")]
    figures: dict[str, float] = {}
    for events in sizes:
        print(f"== {events:,} events", flush=True)
        figures.update(one_size(events))
    return summarise(figures)


def summarise(figures: dict[str, float]) -> dict[str, float]:
    """The figures across sizes (goals, per-event cost) added to those of each size."""
    figures = dict(figures)
    for events, goal in GOAL_S.items():
        label = LABELS[events]
        if f"trigger_to_served_s_{label}" in figures:
            figures[f"ratio_{label}_to_goal_s"] = round(figures[f"trigger_to_served_s_{label}"] / goal, 3)
    if "us_per_event_1m" in figures and "us_per_event_10m" in figures:
        figures["cost_per_event_ratio_10m_to_1m"] = round(figures["us_per_event_10m"] / figures["us_per_event_1m"], 3)
        figures["ratio_10m_peak_rss_to_goal"] = round(figures["peak_rss_mb_10m"] / GOAL_RSS_MB, 3)
    return figures
