"""Ingestion throughput: shop database -> validated Parquet lake, against a bare COPY out.

The pipeline (COPY out, Arrow parse, pandera validation, quarantine, partitioned Parquet)
is timed over generated shops of 1M and 10M events; the reference is a bare
``COPY (SELECT ...) TO STDOUT`` of the same rows in the same run, the floor any
extractor pays.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, time, timedelta

from bench.common import median_seconds, scratch_database
from kaizen.config import Settings
from kaizen.ingest import source
from kaizen.ingest.pipeline import ingest_days
from kaizen.shop.generator import ShopSpec
from kaizen.shop.loaders import load_generated

DAYS = 30
SIZES = {"1m": (1_000_000, 3), "10m": (10_000_000, 1)}  # events, repeats (10M: one run, minutes each)


def measure(events: int, repeats: int) -> dict[str, float]:
    spec = ShopSpec(events=events, seed=7, days=DAYS)
    days = [spec.start.date() + timedelta(days=i) for i in range(DAYS)]
    start = datetime.combine(days[0], time(), UTC)
    end = start + timedelta(days=DAYS)
    with scratch_database("kaizen_bench_ingest") as url, tempfile.TemporaryDirectory() as home:
        loaded = load_generated(url, spec)["events"]
        settings = Settings.from_env(
            {"KAIZEN_HOME": home, "KAIZEN_SHOP_DB_URL": url, "KAIZEN_SHOP_OPENED": "2025-01-01"}
        )
        query = source.EVENTS_SQL.format(start="%(start)s", end="%(end)s")
        copy_s = median_seconds(lambda: source.copy_out(url, query, {"start": start, "end": end}), repeats)
        pipeline_s = median_seconds(lambda: ingest_days(settings, days, "bench"), repeats)
    return {"events": loaded, "pipeline_s": pipeline_s, "copy_s": copy_s}


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
        print(
            f"  {size}: {figures[f'events_per_s_{size}']} events/s, {figures[f'ratio_to_copy_{size}']}x COPY",
            flush=True,
        )
    # Linear cost: seconds per event at 10M over seconds per event at 1M (1.0 is linear).
    figures["cost_per_event_ratio_10m_to_1m"] = round(
        (figures["pipeline_s_10m"] / figures["events_10m"]) / (figures["pipeline_s_1m"] / figures["events_1m"]), 2
    )
    return figures
