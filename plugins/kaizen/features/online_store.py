"""Feast's PostgreSQL online store, with writes through COPY instead of row-by-row upserts,
and connections that survive a PostgreSQL restart.

Feast 0.67's ``PostgreSQLOnlineStore.online_write_batch`` sends one ``INSERT ... ON
CONFLICT`` per feature value (``executemany``): 15 features x 100k items are 1.5M
statements, most of materialisation's time. This subclass streams a batch into a
temporary table with ``COPY`` and upserts it with one statement: Feast's rows
(``online_write_batch``) or, from the columnar engine, whole columns as CSV
(``online_write_columns``). The table layout, the
serialised values and the whole read path are Feast's own, so anything Feast reads (the
SDK, ``feast serve``, the CLI) reads what this writes.

Selected in ``feature_store.yaml`` by ``type: kaizen.features.online_store.PostgreSQLCopyOnlineStore``
(Feast's plugin mechanism: the config class is the store's name + ``Config``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Generator
from datetime import datetime
from typing import Any, Literal

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from feast import FeatureView
from feast.infra.key_encoding_utils import get_list_val_str, serialize_entity_key
from feast.infra.online_stores.helpers import _to_naive_utc, extract_text_and_num
from feast.infra.online_stores.postgres_online_store.postgres import (
    PostgreSQLOnlineStore,
    PostgreSQLOnlineStoreConfig,
    _table_id,
)
from feast.infra.utils.postgres.connection_utils import _get_conn, _get_connection_pool
from feast.infra.utils.postgres.postgres_config import ConnectionType
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import RepoConfig
from psycopg import sql
from psycopg.connection import Connection

from kaizen.features.columns import Columns

TYPE = "kaizen.features.online_store.PostgreSQLCopyOnlineStore"


class PostgreSQLCopyOnlineStoreConfig(PostgreSQLOnlineStoreConfig):
    type: Literal["kaizen.features.online_store.PostgreSQLCopyOnlineStore"] = TYPE  # type: ignore[assignment]


class PostgreSQLCopyOnlineStore(PostgreSQLOnlineStore):
    @contextlib.contextmanager
    def _get_conn(self, config: RepoConfig, autocommit: bool = False) -> Generator[Connection, Any, Any]:
        # The parent's asserts ``type == "postgres"``, keeps a connection the server closed (after
        # a PostgreSQL restart, feast serve answered "the connection is lost" until restarted by
        # hand) and loses a pooled connection to any error. Here a dead connection is replaced
        # on the next use, so only the read that met the restart fails.
        if config.online_store.conn_type == ConnectionType.pool:
            if not self._conn_pool:
                self._conn_pool = _get_connection_pool(config.online_store)
                self._conn_pool.open()
            connection = self._conn_pool.getconn()
            try:
                connection.set_autocommit(autocommit)
                yield connection
            finally:
                self._conn_pool.putconn(connection)  # the pool discards a broken one
        else:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = _get_conn(config.online_store)
            self._conn.set_autocommit(autocommit)
            try:
                yield self._conn
            except psycopg.OperationalError:
                self._conn.close()  # the server dropped it (AdminShutdown leaves it looking alive)
                raise

    def online_write_batch(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: list[tuple[EntityKeyProto, dict[str, ValueProto], datetime, datetime | None]],
        progress: Callable[[int], Any] | None,
    ) -> None:
        version = config.entity_key_serialization_version
        vectors = vectors_enabled(config)

        def copy_rows(copy, with_num: bool) -> None:
            for entity_key, values, timestamp, created in data:
                key = serialize_entity_key(entity_key, entity_key_serialization_version=version)
                event_ts = _to_naive_utc(timestamp)
                created_ts = _to_naive_utc(created) if created is not None else None
                for feature_name, value in values.items():
                    text, num = extract_text_and_num(value, with_num)
                    row = [key, feature_name, value.SerializeToString(), text]
                    if with_num:
                        row.append(num)
                    row += [get_list_val_str(value) if vectors else None, event_ts, created_ts]
                    copy.write_row(row)

        self._upsert(config, table, copy_rows, csv=False)
        if progress:
            progress(len(data))

    def online_write_columns(self, config: RepoConfig, table: FeatureView, columns: Columns) -> None:
        """The rows ``online_write_batch`` would write, built column by column and sent as CSV."""

        def copy_columns(copy, with_num: bool) -> None:
            keys = pa.array(["\\x" + k.hex() for k in columns.entity_keys], pa.string())
            event_ts, created_ts = (
                _utc_micros(c) if c is not None else pa.nulls(len(columns), UTC_MICROS)
                for c in (columns.event_ts, columns.created_ts)
            )
            for name, column in columns.features.items():
                derived = [extract_text_and_num(v, with_num) for v in column.values]
                codes = pa.array(column.codes)
                fields = {
                    "entity_key": keys,
                    "feature_name": pa.repeat(name, len(columns)),
                    "value": pa.array(["\\x" + v.SerializeToString().hex() for v in column.values]).take(codes),
                    "value_text": pa.array([text for text, _ in derived], pa.string()).take(codes),
                }
                if with_num:
                    fields["value_num"] = pa.array([num for _, num in derived], pa.float64()).take(codes)
                fields["vector_value"] = pa.nulls(len(columns), pa.string())
                fields["event_ts"], fields["created_ts"] = event_ts, created_ts
                out = io.BytesIO()
                pacsv.write_csv(pa.table(fields), out, write_options=pacsv.WriteOptions(include_header=False))
                copy.write(out.getvalue())

        self._upsert(config, table, copy_columns, csv=True)

    def _upsert(self, config: RepoConfig, table: FeatureView, write: Callable[[Any, bool], None], csv: bool) -> None:
        """COPY rows (``write(copy, with_num)``) into a staging table, then one upsert into the view's table."""
        table_name = _table_id(config.project, table, config.registry.enable_online_feature_view_versioning)
        with self._get_conn(config) as conn, conn.cursor() as cur:
            # Feast's rows carry naive UTC times: read them as UTC whatever the server's zone.
            cur.execute("SET TIME ZONE 'UTC'")
            with_num = self._check_table_has_value_num(cur, table_name, config)
            columns = ["entity_key", "feature_name", "value", "value_text"]
            columns += ["value_num"] if with_num else []
            columns += ["vector_value", "event_ts", "created_ts"]
            staging = sql.Identifier(f"_kaizen_staging_{table_name}"[:63])
            names = sql.SQL(", ").join(map(sql.Identifier, columns))
            cur.execute(
                sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS").format(
                    staging, sql.Identifier(table_name)
                )
            )
            copy_sql = "COPY {} ({}) FROM STDIN" + (" WITH (FORMAT csv)" if csv else "")
            with cur.copy(sql.SQL(copy_sql).format(staging, names)) as copy:
                write(copy, with_num)
            # One upsert; a key written twice in a batch keeps its latest row (as repeated upserts would).
            updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns[2:])
            cur.execute(
                sql.SQL(
                    "INSERT INTO {table} ({names}) "
                    "SELECT DISTINCT ON (entity_key, feature_name) {names} FROM {staging} "
                    "ORDER BY entity_key, feature_name, event_ts DESC "
                    "ON CONFLICT (entity_key, feature_name) DO UPDATE SET {updates}"
                ).format(table=sql.Identifier(table_name), names=names, staging=staging, updates=updates)
            )
            conn.commit()


UTC_MICROS = pa.timestamp("us", tz="UTC")


def _utc_micros(column: pa.Array) -> pa.Array:
    """Microseconds, as Feast's datetimes have (finer digits dropped, not refused); naive is UTC."""
    if column.type.tz is None:
        column = pc.assume_timezone(column, "UTC")
    return column.cast(UTC_MICROS, safe=False)


def vectors_enabled(config: RepoConfig) -> bool:
    """Whether the store keeps vector columns, which only Feast's row path fills."""
    return bool(getattr(config.online_store, "vector_enabled", False))
