"""Read the shop's database through the mapping, without disturbing or changing it.

Every session is read-only (``default_transaction_read_only``), on top of the SELECT-only
role the stacks give Kaizen. ``COPY (SELECT ...) TO STDOUT`` streams rows as CSV, the
cheapest way out of PostgreSQL, and Arrow parses them in C. The mapping is checked against
the database once, when a :class:`ShopSource` is made: a missing table or column, or a
column whose type cannot play its part, is a ConfigError naming the mapping's field.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg2 import sql

from kaizen.errors import ConfigError
from kaizen.ingest.mapping import Catalog, Events, Mapping

SOURCE_SCHEMA = pa.schema(
    [
        ("event_id", pa.int64()),
        ("session_id", pa.string()),
        ("visitor_id", pa.string()),
        ("item_id", pa.string()),
        ("event_type", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
    ]
)
CATALOG_COLUMNS = ["item_id", "category_id", "price", "available", "updated_at"]

# PostgreSQL types each part accepts, and the cast that turns them into Kaizen's type.
_TEXTUAL = {"text", "varchar", "bpchar", "name", "citext", "uuid", "int2", "int4", "int8", "numeric"}
_TIMESTAMPS = {"timestamptz", "timestamp"}
_KINDS = {
    "id": (_TEXTUAL, "text"),
    "integer": ({"int2", "int4", "int8"}, "bigint"),
    "time": (_TIMESTAMPS, None),
    "number": ({"numeric", "float4", "float8", "int2", "int4", "int8", "money"}, "float8"),
    "boolean": ({"bool"}, "boolean"),
}
_EVENT_KINDS = {"event_id": "integer", "occurred_at": "time", "recorded_at": "time"}
_CATALOG_KINDS = {"price": "number", "available": "boolean", "updated_at": "time"}


def connect(url: str):
    """A session that cannot write, whatever the role may do. Times print in UTC, ISO style
    (``2015-09-11 09:00:00.123456+00``), which Arrow parses as they come."""
    return psycopg2.connect(
        url, options="-c default_transaction_read_only=on -c TimeZone=UTC -c DateStyle=ISO", connect_timeout=10
    )


@dataclass(frozen=True)
class _Described:
    """An entity's source with the type of each of its columns."""

    relation: sql.Composable
    types: dict[str, str]


class ShopSource:
    """The shop's events and catalogue, read as Kaizen's model through ``mapping``."""

    def __init__(self, url: str, mapping: Mapping):
        self.url = url
        self.mapping = mapping
        conn = connect(url)
        try:
            with conn.cursor() as cur:
                self._events = _describe(cur, f"{mapping.path}: events.from", mapping.events)
                self._catalog = _describe(cur, f"{mapping.path}: catalog.from", mapping.catalog)
        finally:
            conn.close()
        self._check("events", mapping.events.columns.model_dump(), self._events, _EVENT_KINDS)
        self._check("catalog", mapping.catalog.columns.model_dump(), self._catalog, _CATALOG_KINDS)

    def _check(self, entity: str, columns: dict, described: _Described, kinds: dict[str, str]) -> None:
        for part, column in columns.items():
            if column is None:
                continue
            field = f"{entity}.columns.{part}"
            if column not in described.types:
                raise ConfigError(
                    f"{self.mapping.path}: {field}: column {column!r} is not in {entity}.from "
                    f"(it has: {', '.join(described.types)})"
                )
            accepted, _ = _KINDS[kinds.get(part, "id")]
            if described.types[column] not in accepted:
                raise ConfigError(
                    f"{self.mapping.path}: {field}: column {column!r} is {described.types[column]}, "
                    f"expected one of {', '.join(sorted(accepted))}"
                )

    # -- SQL ------------------------------------------------------------------------------

    def _column(self, entity: str, part: str) -> sql.Composable:
        """``part``'s column cast to Kaizen's type; timestamps as timestamptz; NULL when unmapped."""
        spec = getattr(self.mapping, entity)
        described = self._events if entity == "events" else self._catalog
        kinds = _EVENT_KINDS if entity == "events" else _CATALOG_KINDS
        column = getattr(spec.columns, part)
        kind = kinds.get(part, "id")
        if column is None:
            return sql.SQL("NULL::timestamptz" if kind == "time" else "NULL::text")
        ref = sql.SQL("src.{}").format(sql.Identifier(column))
        if kind == "time":
            if described.types[column] == "timestamp":
                return sql.SQL("({} AT TIME ZONE {})").format(ref, sql.Literal(spec.timezone))
            return ref
        return sql.SQL("{}::{}").format(ref, sql.SQL(_KINDS[kind][1]))

    def _in_window(self, part: str, start: datetime, end: datetime) -> sql.Composable:
        """``start <= part < end``, written on the bare column so that its index is used."""
        column = getattr(self.mapping.events.columns, part)
        ref = sql.SQL("src.{}").format(sql.Identifier(column))
        bounds = [sql.Literal(start), sql.Literal(end)]
        if self._events.types[column] == "timestamp":
            zone = sql.Literal(self.mapping.events.timezone)
            bounds = [sql.SQL("({} AT TIME ZONE {})").format(b, zone) for b in bounds]
        return sql.SQL("({ref} >= {} AND {ref} < {})").format(*bounds, ref=ref)

    def _events_where(self, start: datetime, end: datetime) -> sql.Composable:
        # Rows without an event time are taken by the time they were recorded, so that they
        # reach the quarantine instead of being skipped by every interval.
        where = self._in_window("occurred_at", start, end)
        if self.mapping.events.columns.recorded_at:
            occurred = sql.SQL("src.{}").format(sql.Identifier(self.mapping.events.columns.occurred_at))
            where = sql.SQL("({} OR ({} IS NULL AND {}))").format(
                where, occurred, self._in_window("recorded_at", start, end)
            )
        return where

    def _event_type(self) -> sql.Composable:
        raw = self._column("events", "event_type")
        type_of = self.mapping.events.type_of()
        if all(value == kaizen_type for value, kaizen_type in type_of.items()):
            return raw  # the shop already uses Kaizen's names
        cases = sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(sql.Literal(value), sql.Literal(kaizen_type))
            for value, kaizen_type in type_of.items()
        )
        # Values the mapping does not know pass through: validation quarantines them by name.
        return sql.SQL("CASE {raw} {cases} ELSE {raw} END").format(raw=raw, cases=cases)

    def _day(self) -> sql.Composable:
        """The UTC day a row belongs to: its event time's, else its recorded time's."""
        return sql.SQL("(coalesce({}, {}) AT TIME ZONE 'UTC')::date").format(
            self._column("events", "occurred_at"), self._column("events", "recorded_at")
        )

    def events_query(self, start: datetime, end: datetime) -> sql.Composable:
        def part(name: str) -> sql.Composable:
            value = self._event_type() if name == "event_type" else self._column("events", name)
            return sql.SQL("{} AS {}").format(value, sql.Identifier(name))

        selected = [part(name) for name in SOURCE_SCHEMA.names]
        return sql.SQL("SELECT {} FROM {} AS src WHERE {}").format(
            sql.SQL(", ").join(selected), self._events.relation, self._events_where(start, end)
        )

    # -- reads ----------------------------------------------------------------------------

    def copy_out(self, query: sql.Composable) -> io.BytesIO:
        """``COPY (query) TO STDOUT`` as CSV with a header; the bytes."""
        buffer = io.BytesIO()
        conn = connect(self.url)
        try:
            with conn.cursor() as cur:
                copy = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)
                cur.copy_expert(copy.as_string(cur), buffer)
        finally:
            conn.close()
        buffer.seek(0)
        return buffer

    def read_events(self, start: datetime, end: datetime) -> pa.Table:
        """Events with ``start <= occurred_at < end`` (or, lacking it, recorded then), in
        Kaizen's model. Text is not checked for valid UTF-8 here: validation quarantines it."""
        buffer = self.copy_out(self.events_query(start, end))
        return pacsv.read_csv(
            buffer,
            # Quoted newlines are data (a malformed row to quarantine), not row ends.
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=SOURCE_SCHEMA, strings_can_be_null=True, check_utf8=False
            ),
        ).select(SOURCE_SCHEMA.names)

    def read_catalog(self) -> pd.DataFrame:
        """The catalogue as it is now: a run's catalogue snapshot."""
        parts = [sql.SQL("{} AS {}").format(self._column("catalog", p), sql.Identifier(p)) for p in CATALOG_COLUMNS]
        if self.mapping.catalog.columns.available is None:
            parts[3] = sql.SQL("true AS available")
        query = sql.SQL("SELECT {} FROM {} AS src").format(sql.SQL(", ").join(parts), self._catalog.relation)
        return pd.read_csv(
            self.copy_out(query),
            dtype={"item_id": str, "category_id": str, "price": "float64"},
            parse_dates=["updated_at"],
        )

    def _fetch(self, query: sql.Composable) -> list[tuple]:
        conn = connect(self.url)
        try:
            with conn.cursor() as cur:
                cur.execute(query)
                return cur.fetchall()
        finally:
            conn.close()

    def rows_by_day(self, start: datetime, end: datetime) -> dict[date, int]:
        """How many rows each UTC day of ``[start, end)`` has, as :meth:`read_events` reads them."""
        query = sql.SQL("SELECT {day}, count(*) FROM {rel} AS src WHERE {where} GROUP BY 1").format(
            day=self._day(), rel=self._events.relation, where=self._events_where(start, end)
        )
        return dict(self._fetch(query))

    def rows_by_day_and_type(self, start: datetime, end: datetime) -> dict[tuple[date, str], int]:
        """Rows per UTC day and raw (the shop's) event type in ``[start, end)``."""
        query = sql.SQL("SELECT {day}, {raw}, count(*) FROM {rel} AS src WHERE {where} GROUP BY 1, 2").format(
            day=self._day(),
            raw=self._column("events", "event_type"),
            rel=self._events.relation,
            where=self._events_where(start, end),
        )
        return {(day, raw): n for day, raw, n in self._fetch(query)}

    def time_range(self) -> tuple[datetime, datetime] | None:
        """First and last event time in the shop, or None when it has no events."""
        occurred = self._column("events", "occurred_at")
        query = sql.SQL("SELECT min({o}), max({o}) FROM {rel} AS src").format(o=occurred, rel=self._events.relation)
        first, last = self._fetch(query)[0]
        return (first, last) if first else None

    def undatable_rows(self) -> int:
        """Rows with no event time and no recorded time: no day can take them."""
        query = sql.SQL("SELECT count(*) FROM {rel} AS src WHERE {o} IS NULL AND {r} IS NULL").format(
            rel=self._events.relation,
            o=self._column("events", "occurred_at"),
            r=self._column("events", "recorded_at"),
        )
        return self._fetch(query)[0][0]

    def write_privileges(self) -> list[str]:
        """Everything the login may change in the shop's database (empty for a SELECT-only role)."""
        conn = connect(self.url)
        try:
            with conn.cursor() as cur:
                cur.execute(_WRITE_PRIVILEGES)
                return [row[0] for row in cur.fetchall()]
        finally:
            conn.close()


_WRITE_PRIVILEGES = """
SELECT what FROM (
    SELECT 1, 'superuser: ' || rolname FROM pg_roles WHERE rolname = current_user AND rolsuper
    UNION ALL
    SELECT 2, 'CREATE on database ' || current_database() WHERE has_database_privilege(current_database(), 'CREATE')
    UNION ALL
    SELECT 3, 'CREATE on schema ' || nspname FROM pg_namespace
    WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' AND has_schema_privilege(oid, 'CREATE')
    UNION ALL
    SELECT 4, privilege || ' on ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS privilege
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT LIKE 'pg\\_%'
      AND n.nspname <> 'information_schema' AND has_table_privilege(c.oid, privilege)
) AS writable (rank, what)
ORDER BY rank, what
"""


def _describe(cur, field: str, entity: Events | Catalog) -> _Described:
    """The source's columns and their PostgreSQL types (no rows read)."""
    source = entity.source.strip()
    if entity.is_query:
        relation = sql.SQL("({})").format(sql.SQL(source.rstrip(";")))
    else:
        relation = sql.Identifier(*source.split(".", 1))
    try:
        cur.execute(sql.SQL("SELECT * FROM {} AS src LIMIT 0").format(relation))
    except psycopg2.Error as exc:
        cur.connection.rollback()
        message = (exc.pgerror or str(exc)).strip().splitlines()[0]
        raise ConfigError(f"{field}: {source!r} cannot be read: {message}") from None
    names = [column.name for column in cur.description]
    oids = [column.type_code for column in cur.description]
    cur.execute("SELECT oid, typname FROM pg_type WHERE oid = ANY(%s)", (oids,))
    type_names = dict(cur.fetchall())
    return _Described(relation, {name: type_names.get(oid, "unknown") for name, oid in zip(names, oids, strict=True)})
