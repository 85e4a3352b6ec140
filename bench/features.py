"""Feast throughput and latency, in-process through the SDK, on PostgreSQL and Redis online stores.

- Materialisation: item tables of 100k and 1M items (one row per item in ``item_activity``,
  15 features, and ``item_catalog``, 4 features: the ``recommender_v1`` service) from the
  DuckDB offline store into the online store, through the stack's engine
  (``kaizen.features.materialize_engine``); entity rows (items x views) per second.
- Online reads: Feast's ``FeatureStore.get_online_features`` of ``recommender_v1`` for 20
  random items, at least 1,000 times after a warm-up, over the 100k-item store; p50/p99 in
  ms. Also of ``serving_v1`` (availability and category: what the model server asks
  ``feast serve`` for per request).
- Same-run references: the raw read Feast's store does for those 20 keys, without Feast
  (a psycopg2 SELECT of both tables; a redis-py pipeline of HMGETs), and on PostgreSQL the
  bare COPY and upsert of the 100k items' values into Feast's table layout, so the ratios
  survive a noisy machine.

``KAIZEN_BENCH_DATABASE_URL`` (admin URL, as for the other benchmarks) and
``KAIZEN_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/12``); Redis figures are
omitted, with ``redis_skipped``, when no Redis answers.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2

from bench.common import scratch_database
from kaizen.config import Settings
from kaizen.features import engineering
from kaizen.features.registry_sync import apply
from kaizen.features.repo_config import feature_store
from kaizen.features.tables import FLOAT64, ITEM_ACTIVITY, ITEM_CATALOG

REDIS_URL = os.environ.get("KAIZEN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SIZES = {"100k": 100_000, "1m": 1_000_000}
READS, WARMUP, ENTITIES = 2_000, 100, 20
ITEM_VIEWS = ["item_activity", "item_catalog"]
STAMP = pd.Timestamp("2025-03-01", tz="UTC")
GOAL_ROWS_PER_S, GOAL_P99_MS = 50_000, 3.0


def item_ids(n: int) -> np.ndarray:
    return np.char.add("item", np.arange(n).astype(str)).astype(object)


def write_item_tables(lake_dir: Path, n: int, seed: int = 7) -> None:
    """One row per item in both item tables (random values)."""
    rng = np.random.default_rng(seed)
    ids = item_ids(n)
    stamps = pd.Series(np.full(n, STAMP.value // 1000, dtype="int64").astype("datetime64[us]")).dt.tz_localize("UTC")
    activity = {"item_id": ids, "event_timestamp": stamps}
    for name, kind in ITEM_ACTIVITY.features.items():
        activity[name] = rng.random(n) if kind == FLOAT64 else rng.integers(0, 1000, n)
    catalog = {
        "item_id": ids,
        "event_timestamp": stamps,
        "category_id": np.char.add("c", rng.integers(0, 500, n).astype(str)).astype(object),
        "price": np.round(rng.lognormal(3, 0.5, n), 2),
        "available": rng.random(n) > 0.03,
        "first_seen": stamps,
    }
    engineering.write_table(lake_dir, ITEM_ACTIVITY, pd.DataFrame(activity))
    engineering.write_table(lake_dir, ITEM_CATALOG, pd.DataFrame(catalog))


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    ms = np.asarray(samples_s) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def timed(fn, batches: list[list[str]]) -> list[float]:
    for ids in batches[:WARMUP]:
        fn(ids)
    samples = []
    for ids in batches[WARMUP:]:
        started = time.perf_counter()
        fn(ids)
        samples.append(time.perf_counter() - started)
    return samples


def read_batches(n: int, seed: int = 11) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    ids = item_ids(n)
    return [list(ids[rng.choice(n, ENTITIES, replace=False)]) for _ in range(WARMUP + READS)]


def entity_keys(store, ids: list[str]) -> list[bytes]:
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    version = store.config.entity_key_serialization_version
    return [
        serialize_entity_key(EntityKey(join_keys=["item_id"], entity_values=[Value(string_val=i)]), version)
        for i in ids
    ]


def postgres_reference(store, url: str, batches: list[list[str]]) -> list[float]:
    """The batched query Feast's PostgreSQL store sends, through a bare psycopg2 connection."""
    query = " UNION ALL ".join(
        f'SELECT entity_key, feature_name, value, event_ts FROM "{store.project}_{view}" WHERE entity_key = ANY(%s)'
        for view in ITEM_VIEWS
    )
    keys = {tuple(ids): [psycopg2.Binary(k) for k in entity_keys(store, ids)] for ids in batches}
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:

            def read(ids):
                params = keys[tuple(ids)]
                cur.execute(query, [params] * len(ITEM_VIEWS))
                return cur.fetchall()

            return timed(read, batches)
    finally:
        conn.close()


def postgres_write_reference(store, url: str) -> float:
    """Seconds PostgreSQL alone takes to COPY the item views' value rows into a staging table
    and upsert them into Feast's table layout (a primary key on entity key and feature
    name): no Feast and no encoding, what any writer of that layout pays at least."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            data = io.StringIO()
            for view in ITEM_VIEWS:
                cur.copy_expert(f'COPY "{store.project}_{view}" TO STDOUT', data)
            cur.execute(f'CREATE TABLE _write_reference (LIKE "{store.project}_item_activity" INCLUDING ALL)')
            cur.execute("CREATE TEMP TABLE _staging (LIKE _write_reference)")
            conn.commit()
            data.seek(0)
            started = time.perf_counter()
            cur.copy_expert("COPY _staging FROM STDIN", data)
            cur.execute(
                "INSERT INTO _write_reference SELECT * FROM _staging ON CONFLICT (entity_key, feature_name) "
                "DO UPDATE SET value = EXCLUDED.value, event_ts = EXCLUDED.event_ts"
            )
            conn.commit()
            return time.perf_counter() - started
    finally:
        conn.close()


def redis_reference(store, batches: list[list[str]]) -> list[float]:
    """The HMGETs Feast's Redis store pipelines, through a bare redis-py client."""
    import redis
    from feast.infra.online_stores.helpers import _mmh3, _redis_key

    fields = []
    for view in store.list_feature_views(allow_cache=True):
        if view.name in ITEM_VIEWS:
            fields += [_mmh3(f"{view.name}:{f.name}") for f in view.features] + [f"_ts:{view.name}".encode()]
    version = store.config.entity_key_serialization_version
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    keys = {
        tuple(ids): [
            _redis_key(store.project, EntityKey(join_keys=["item_id"], entity_values=[Value(string_val=i)]), version)
            for i in ids
        ]
        for ids in batches
    }
    client = redis.Redis.from_url(REDIS_URL)

    def read(ids):
        with client.pipeline(transaction=False) as pipe:
            for key in keys[tuple(ids)]:
                pipe.hmget(key, fields)
            return pipe.execute()

    return timed(read, batches)


def measure(kind: str) -> dict:
    figures: dict[str, float] = {}
    with scratch_database("kaizen_bench_features") as url, tempfile.TemporaryDirectory() as home:
        env = {
            "KAIZEN_HOME": home,
            "KAIZEN_FEAST_DB_URL": url,
            "KAIZEN_LAKE_DIR": f"{home}/lake",
            "KAIZEN_FEAST_ONLINE_STORE": kind,
            "KAIZEN_REDIS_URL": REDIS_URL,
        }
        settings = Settings.from_env(env)
        for size, n in SIZES.items():
            project = f"bench{uuid.uuid4().hex[:8]}"
            store = feature_store(settings, repo_path=Path(home) / f"repo-{size}", project=project)
            try:
                write_item_tables(settings.lake_dir, n)
                apply(store, settings.lake_dir)
                started = time.perf_counter()
                store.materialize(STAMP - pd.Timedelta(days=1), STAMP + pd.Timedelta(days=1), ITEM_VIEWS)
                seconds = time.perf_counter() - started
                rows = n * len(ITEM_VIEWS)
                figures[f"materialize_s_{size}_{kind}"] = round(seconds, 2)
                figures[f"materialize_rows_per_s_{size}_{kind}"] = round(rows / seconds)
                print(f"  {kind} {size}: {rows} rows in {seconds:.1f} s", flush=True)
                if size == "100k":
                    figures.update(measure_reads(store, kind, url, n))
                    if kind == "postgres":
                        reference = postgres_write_reference(store, url)
                        figures["reference_write_rows_per_s_100k_postgres"] = round(rows / reference)
                        figures["materialize_ratio_to_reference_100k_postgres"] = round(seconds / reference, 2)
                        print(f"  postgres bare COPY + upsert of the same values: {reference:.1f} s", flush=True)
            finally:
                if kind == "redis":
                    store.teardown()
    return figures


def measure_reads(store, kind: str, url: str, n: int) -> dict:
    service = store.get_feature_service("recommender_v1", allow_cache=True)
    refs = [f"{p.name}:{f.name}" for p in service.feature_view_projections for f in p.features]
    batches = read_batches(n)

    def sdk(ids):
        return store.get_online_features(features=refs, entity_rows={"item_id": ids}).to_dict()

    serving = store.get_feature_service("serving_v1", allow_cache=True)

    def serving_read(ids):
        return store.get_online_features(features=serving, entity_rows={"item_id": ids}).to_dict()

    figures = {}
    sdk_p50, sdk_p99 = percentiles(timed(sdk, batches))
    serving_p50, serving_p99 = percentiles(timed(serving_read, batches))
    if kind == "postgres":
        ref_p50, ref_p99 = percentiles(postgres_reference(store, url, batches))
        ref_name = "postgres_select"
    else:
        ref_p50, ref_p99 = percentiles(redis_reference(store, batches))
        ref_name = "redis_hmget"
    figures[f"online_p50_ms_{kind}"] = round(sdk_p50, 3)
    figures[f"online_p99_ms_{kind}"] = round(sdk_p99, 3)
    figures[f"online_serving_p50_ms_{kind}"] = round(serving_p50, 3)
    figures[f"online_serving_p99_ms_{kind}"] = round(serving_p99, 3)
    figures[f"reference_p50_ms_{ref_name}"] = round(ref_p50, 3)
    figures[f"reference_p99_ms_{ref_name}"] = round(ref_p99, 3)
    figures[f"online_p99_ratio_to_reference_{kind}"] = round(sdk_p99 / ref_p99, 2)
    figures[f"online_reads_{kind}"] = READS
    print(
        f"  {kind} reads: p50 {sdk_p50:.2f} ms, p99 {sdk_p99:.2f} ms (raw {ref_p99:.2f} ms); "
        f"serving_v1 p50 {serving_p50:.2f} ms, p99 {serving_p99:.2f} ms",
        flush=True,
    )
    return figures


def redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def run() -> dict:
    figures: dict = {
        "entities_per_read": ENTITIES,
        "features_per_read": len(ITEM_ACTIVITY.features) + len(ITEM_CATALOG.features),
        "goal_materialize_rows_per_s": GOAL_ROWS_PER_S,
        "goal_online_p99_ms": GOAL_P99_MS,
    }
    kinds = ["postgres"] + (["redis"] if redis_reachable() else [])
    if "redis" not in kinds:
        figures["redis_skipped"] = f"no Redis at {REDIS_URL}"
    for kind in kinds:
        figures.update(measure(kind))
    for kind in kinds:
        for size in SIZES:
            key = f"materialize_rows_per_s_{size}_{kind}"
            figures[f"materialize_ratio_to_goal_{size}_{kind}"] = round(figures[key] / GOAL_ROWS_PER_S, 3)
        figures[f"online_p99_ratio_to_goal_{kind}"] = round(figures[f"online_p99_ms_{kind}"] / GOAL_P99_MS, 2)
        figures[f"online_serving_p99_ratio_to_goal_{kind}"] = round(
            figures[f"online_serving_p99_ms_{kind}"] / GOAL_P99_MS, 2
        )
    if "redis" in kinds:
        ratio = figures["online_p99_ms_postgres"] / figures["online_p99_ms_redis"]
        figures["online_p99_ratio_postgres_to_redis"] = round(ratio, 2)
    return figures
