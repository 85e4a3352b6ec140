"""Which online stores take whole columns from the columnar engine, and Redis's writer.

PostgreSQL: ``PostgreSQLCopyOnlineStore.online_write_columns`` (kaizen.features.online_store).
Redis: ``write_redis_columns`` below, for Feast's own Redis store. Where only Feast's row
path does what the store is configured to do (vector columns, Redis with read-before-write
dedup, key TTLs, a cluster), there is no columnar writer and the engine takes Feast's path.
The layouts written are Feast 0.67's (its private helpers name them); tests/test_features.py
checks the bytes against Feast's own path on both stores.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pyarrow.compute as pc
from feast import FeatureView
from feast.infra.online_stores.helpers import _mmh3
from feast.infra.online_stores.redis import RedisOnlineStore, RedisType, _versioned_fv_name
from feast.repo_config import RepoConfig
from google.protobuf.timestamp_pb2 import Timestamp

from kaizen.features.columns import Columns
from kaizen.features.online_store import PostgreSQLCopyOnlineStore, vectors_enabled


def write_redis_columns(store: RedisOnlineStore, config: RepoConfig, table: FeatureView, columns: Columns) -> None:
    """What ``RedisOnlineStore.online_write_batch`` writes with ``skip_dedup``, one HSET per entity
    in one pipeline: the event time under ``_ts:<view>`` and each value under its name's murmur3."""
    view = _versioned_fv_name(table, config)
    project = config.project.encode("utf8")
    stamps = pc.unique(columns.event_ts)
    stamp_bytes = []
    for moment in stamps.to_pylist():
        ts = Timestamp()
        ts.FromDatetime(moment)
        stamp_bytes.append(ts.SerializeToString())
    stamp_rows = [stamp_bytes[i] for i in pc.index_in(columns.event_ts, stamps).to_pylist()]
    names = [_mmh3(f"{view}:{name}") for name in columns.features]
    values = [c.rows([v.SerializeToString() for v in c.values]) for c in columns.features.values()]
    ts_key = f"_ts:{view}"
    client = store._get_client(config.online_store)
    with client.pipeline(transaction=False) as pipe:
        for key, stamp, *row in zip(columns.entity_keys, stamp_rows, *values, strict=True):
            pipe.execute_command(
                "HSET", key + project, ts_key, stamp, *[x for pair in zip(names, row, strict=True) for x in pair]
            )
        pipe.execute()


def columnar_writer(store, config: RepoConfig) -> Callable[[RepoConfig, FeatureView, Columns], None] | None:
    """How ``store`` writes whole columns, or None where only Feast's row path does what it does
    (vector columns, Redis with read-before-write dedup, key TTLs or a cluster)."""
    if isinstance(store, PostgreSQLCopyOnlineStore) and not vectors_enabled(config):
        return store.online_write_columns
    online = config.online_store
    if (
        isinstance(store, RedisOnlineStore)
        and online.skip_dedup
        and not online.key_ttl_seconds
        and online.redis_type == RedisType.redis
    ):
        return partial(write_redis_columns, store)
    return None
