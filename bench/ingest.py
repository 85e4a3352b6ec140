"""Ingestion throughput: shop database -> validated Parquet lake, against a bare COPY out.

The pipeline (the mapping's COPY out, Arrow parse, pandera validation in day chunks,
quarantine and bookkeeping in Kaizen's database, partitioned Parquet) is timed over
generated shops of 1M and 10M events, read through the demo shop's mapping; the reference
is a bare ``COPY (SELECT * FROM events WHERE ...) TO STDOUT`` of the same rows in the same
run, the floor any extractor pays. Each pipeline run is a process of its own, so its peak
RSS is the run's alone.
"""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta

import psycopg2

from bench.common import median_seconds, scratch_database
from kaizen.config import Settings
from kaizen.shop.generator import ShopSpec
from kaizen.shop.loaders import load_generated

DAYS = 30
SIZES = {"1m": (1_000_000, 3), "10m": (10_000_000, 1)}  # events, repeats (10M: one run, minutes each)


def bare_copy(url: str, start: datetime, end: datetime) -> None:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur, tempfile.TemporaryFile() as sink:
            query = cur.mogrify(
                "COPY (SELECT * FROM events WHERE occurred_at >= %s AND occurred_at < %s) TO STDOUT WITH CSV",
                (start, end),
            ).decode()
            cur.copy_expert(query, sink)
    finally:
        conn.close()


def pipeline_run(env: dict[str, str], days: list[date]) -> tuple[float, float]:
    """One ingestion in this (fresh) process: (seconds, peak RSS in MB)."""
    from kaizen.ingest.pipeline import ingest_days

    started = time.perf_counter()
    ingest_days(Settings.from_env(env), days, "bench")
    return time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(events: int, repeats: int) -> dict[str, float]:
    spec = ShopSpec(events=events, seed=7, days=DAYS)
    days = [spec.start.date() + timedelta(days=i) for i in range(DAYS)]
    start = datetime.combine(days[0], datetime.min.time(), UTC)
    end = start + timedelta(days=DAYS)
    with (
        scratch_database("kaizen_bench_shop") as url,
        scratch_database("kaizen_bench_kaizen") as kaizen_db,
        tempfile.TemporaryDirectory() as home,
    ):
        loaded = load_generated(url, spec)["events"]
        env = {
            "KAIZEN_HOME": home,
            "KAIZEN_SHOP_DB_URL": url,
            "KAIZEN_DB_URL": kaizen_db,
            "KAIZEN_SHOP_OPENED": "2025-01-01",
        }
        copy_s = median_seconds(lambda: bare_copy(url, start, end), repeats)
        runs = []
        for _ in range(repeats):
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                runs.append(pool.submit(pipeline_run, env, days).result())
    seconds = sorted(s for s, _ in runs)[len(runs) // 2]
    return {"events": loaded, "pipeline_s": seconds, "copy_s": copy_s, "peak_rss_mb": max(m for _, m in runs)}


def run() -> dict:
    figures: dict[str, float] = {}
    for size, (events, repeats) in SIZES.items():
        m = measure(events, repeats)
        figures[f"events_{size}"] = m["events"]
        figures[f"pipeline_s_{size}"] = round(m["pipeline_s"], 2)
        figures[f"copy_s_{size}"] = round(m["copy_s"], 2)
        figures[f"events_per_s_{size}"] = round(m["events"] / m["pipeline_s"])
        figures[f"copy_events_per_s_{size}"] = round(m["events"] / m["copy_s"])
        figures[f"ratio_to_copy_{size}"] = round(m["pipeline_s"] / m["copy_s"], 2)
        figures[f"peak_rss_mb_{size}"] = round(m["peak_rss_mb"])
        print(
            f"  {size}: {figures[f'events_per_s_{size}']} events/s, {figures[f'ratio_to_copy_{size}']}x COPY, "
            f"peak RSS {figures[f'peak_rss_mb_{size}']} MB",
            flush=True,
        )
    # Linear cost: seconds per event at 10M over seconds per event at 1M (1.0 is linear).
    figures["cost_per_event_ratio_10m_to_1m"] = round(
        (figures["pipeline_s_10m"] / figures["events_10m"]) / (figures["pipeline_s_1m"] / figures["events_1m"]), 2
    )
    return figures
