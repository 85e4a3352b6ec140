"""Features: engineering on a hand-made lake, Feast apply/materialise/read on real PostgreSQL
(and Redis when one answers on 127.0.0.1:6379), point-in-time training rows, idempotence."""

from __future__ import annotations

import dataclasses
import math
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from feast import ValueType
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import python_values_to_proto_values

from kaizen import lake
from kaizen.config import Settings
from kaizen.errors import ConfigError, UpstreamMissing
from kaizen.features import columns, definitions, engineering, materialization, materialize_engine, repo_config
from kaizen.features.refresh import refresh
from kaizen.features.registry_sync import apply
from kaizen.features.tables import ITEM_ACTIVITY, TABLES
from kaizen.features.training_sets import training_set
from kaizen.ingest.source import SOURCE_SCHEMA
from kaizen.training.item_features import item_features, recent_popularity

UTC = UTC
D0 = datetime(2025, 3, 1, tzinfo=UTC)
REDIS_URL = "redis://127.0.0.1:6379/11"
ONLINE_VIEWS = ("item_activity", "item_catalog")


def day(n: float, hours: float = 0.0) -> datetime:
    return D0 + timedelta(days=n, hours=hours)


def end_of(n: int) -> pd.Timestamp:
    """The stamp of day ``n``'s rows: 00:00 UTC of the next day."""
    return pd.Timestamp(day(n + 1))


# (session, item, event type, time). Item a: 2 views on day 0, view + cart on day 3, view +
# purchase on day 10. b: a view on day 0. c: a session across midnight, days 34 and 35.
EVENTS = [
    ("s1", "a", "view", day(0, 10)),
    ("s1", "a", "view", day(0, 10.1)),
    ("s2", "b", "view", day(0, 23.8)),
    ("s3", "a", "view", day(3, 9)),
    ("s3", "a", "addtocart", day(3, 9.05)),
    ("s4", "a", "view", day(10, 12)),
    ("s4", "a", "transaction", day(10, 12.5)),
    ("s5", "c", "view", day(34, 23 + 55 / 60)),
    ("s5", "c", "view", day(35, 5 / 60)),
]
LAST_DAY = 35
# Catalogue snapshots: (snapshot day, rows). On day 30: a's price changed (updated_at
# bumped to day 25 noon), b's changed without a bump, c is new (updated_at day 20).
CATALOG = {
    0: [("a", "x", 10.0, "t", day(-10)), ("b", "x", 5.0, "t", day(-10))],
    30: [("a", "x", 12.0, "t", day(25, 12)), ("b", "x", 6.0, "t", day(-10)), ("c", "y", 7.0, "f", day(20))],
}


def write_lake(lake_dir, events=EVENTS, catalog=CATALOG) -> None:
    frame = pd.DataFrame(
        [(i, s, "v" + s, item, kind, at, at) for i, (s, item, kind, at) in enumerate(events)],
        columns=SOURCE_SCHEMA.names,
    )
    table = pa.Table.from_pandas(frame, schema=SOURCE_SCHEMA, preserve_index=False)
    days = sorted({at.date() for *_, at in events})
    lake.replace_days(table, lake_dir, days, pc.cast(pc.cast(table["occurred_at"], pa.date32()), pa.string()))
    for n, rows in catalog.items():
        products = pd.DataFrame(rows, columns=["item_id", "category_id", "price", "available", "updated_at"])
        lake.write_catalog(products, lake_dir, day(n).date())


def row_at(frame: pd.DataFrame, key: str, value: str, stamp: pd.Timestamp) -> pd.Series:
    rows = frame[(frame[key] == value) & (frame["event_timestamp"] == stamp)]
    assert len(rows) == 1, f"{value} at {stamp}: {len(rows)} rows"
    return rows.iloc[0]


# ---------------------------------------------------------------- engineering (no services)


@pytest.fixture
def tables(tmp_path) -> dict[str, pd.DataFrame]:
    write_lake(tmp_path / "lake")
    return engineering.compute(tmp_path / "lake")


def test_item_activity_counts_over_1_7_and_30_days(tables):
    activity = tables["item_activity"]
    a = activity[activity["item_id"] == "a"]
    # Change points: each active day (0, 3, 10) and 1, 7 and 30 days after it, up to day 35.
    assert sorted(a["event_timestamp"]) == [end_of(n) for n in (0, 1, 3, 4, 7, 10, 11, 17, 30, 33)]
    expected = {  # day: (views 1/7/30, carts 1/7/30, purchases 1/7/30)
        0: (2, 2, 2, 0, 0, 0, 0, 0, 0),
        1: (0, 2, 2, 0, 0, 0, 0, 0, 0),
        3: (1, 3, 3, 1, 1, 1, 0, 0, 0),
        4: (0, 3, 3, 0, 1, 1, 0, 0, 0),
        7: (0, 1, 3, 0, 1, 1, 0, 0, 0),  # the 7-day window is days 1..7 now
        10: (1, 1, 4, 0, 0, 1, 1, 1, 1),
        30: (0, 0, 2, 0, 0, 1, 0, 0, 1),  # day 0's views left the 30-day window
        33: (0, 0, 1, 0, 0, 0, 0, 0, 1),
    }
    counts = [f"{k}_{w}d" for k in ("views", "carts", "purchases") for w in (1, 7, 30)]
    for n, values in expected.items():
        assert tuple(row_at(activity, "item_id", "a", end_of(n))[counts]) == values, n
    day3 = row_at(activity, "item_id", "a", end_of(3))
    assert day3["cart_rate_1d"] == 1.0 and day3["cart_rate_7d"] == pytest.approx(1 / 3)
    day10 = row_at(activity, "item_id", "a", end_of(10))
    assert day10["purchase_rate_30d"] == pytest.approx(1 / 4) and day10["cart_rate_7d"] == 0.0
    assert row_at(activity, "item_id", "a", end_of(1))["cart_rate_1d"] == 0.0  # no views: rate 0
    # b's only view on day 0: its rows end with the all-zero one when day 0 leaves the window.
    b = activity[activity["item_id"] == "b"].sort_values("event_timestamp")
    assert list(b["views_30d"]) == [1, 1, 1, 0] and b["event_timestamp"].iloc[-1] == end_of(30)
    # Nothing is stamped after the lake's last day ends.
    assert activity["event_timestamp"].max() == end_of(LAST_DAY)


def test_item_catalog_rows_are_stamped_when_their_values_became_valid(tables):
    catalog = tables["item_catalog"].sort_values(["item_id", "event_timestamp"])
    got = [(r.item_id, r.event_timestamp, r.price, r.available) for r in catalog.itertuples()]
    assert got == [
        ("a", pd.Timestamp(day(-10)), 10.0, True),
        ("a", pd.Timestamp(day(25, 12)), 12.0, True),  # its updated_at
        ("b", pd.Timestamp(day(-10)), 5.0, True),
        ("b", end_of(0), 6.0, True),  # updated_at not bumped: after the day-0 snapshot was taken
        ("c", pd.Timestamp(day(20)), 7.0, False),
    ]
    first_seen = catalog.groupby("item_id")["first_seen"].first()
    assert first_seen["a"] == pd.Timestamp(day(-10)) and first_seen["c"] == pd.Timestamp(day(20))


def test_an_empty_lake_gives_empty_tables(tmp_path):
    frames = engineering.compute(tmp_path / "nothing")
    assert set(frames) == set(TABLES) and all(t.empty for t in frames.values())
    paths = engineering.build(tmp_path / "nothing")
    assert all(engineering.table_rows(p) == 0 for p in paths.values())
    assert all(pq.read_schema(paths[name]).remove_metadata() == t.arrow_schema() for name, t in TABLES.items())


def test_parquet_files_and_feast_fields_follow_the_one_declaration(tmp_path):
    write_lake(tmp_path / "lake")
    paths = engineering.build(tmp_path / "lake")
    views = definitions.views(tmp_path / "lake")
    for name, table in TABLES.items():
        assert pq.read_schema(paths[name]).remove_metadata() == table.arrow_schema()
        assert [f.name for f in views[name].features] == list(table.features)
    dtypes = {f.name: str(f.dtype) for f in views["item_activity"].features}
    assert dtypes["views_30d"] == "Int64" and dtypes["purchase_rate_30d"] == "Float64"


def test_reading_a_table_engineering_has_not_written_is_an_upstream_error(tmp_path):
    with pytest.raises(UpstreamMissing, match="item_activity"):
        materialization.stamp_range(ITEM_ACTIVITY.path(tmp_path / "lake"))
    with pytest.raises(UpstreamMissing):
        engineering.table_rows(ITEM_ACTIVITY.path(tmp_path / "lake"))


# ---------------------------------------------------------------- configuration


def test_online_store_setting_and_redis_connection_string(tmp_path):
    def choice(kind: str, redis_url: str = "") -> tuple[str, str]:
        env = {"KAIZEN_HOME": str(tmp_path), "KAIZEN_FEAST_ONLINE_STORE": kind, "KAIZEN_REDIS_URL": redis_url}
        settings = Settings.from_env(env)
        return settings.feast_online_store, settings.redis_url

    assert choice("postgres") == ("postgres", "")
    assert choice("Redis", "redis://r:6379/1") == ("redis", "redis://r:6379/1")
    with pytest.raises(ConfigError, match="KAIZEN_FEAST_ONLINE_STORE"):
        choice("sqlite")
    with pytest.raises(ConfigError, match="KAIZEN_REDIS_URL"):
        choice("redis")
    connection_string = repo_config.redis_connection_string
    assert connection_string("redis://:s3cr%2Ft@redis:6380/1") == 'redis:6380,db=1,password="s3cr/t"'
    assert connection_string("rediss://u:1e5@h") == 'h:6379,db=0,username="u",password="1e5",ssl=true'
    with pytest.raises(ConfigError, match="redis://"):
        connection_string("http://r:6379/1")


def test_render_config_sql_registry_duckdb_and_online_store(tmp_path):
    settings = Settings.from_env(
        {"KAIZEN_HOME": str(tmp_path), "KAIZEN_FEAST_DB_URL": "postgresql://feast:p%40ss@db:5433/feast"}
    )
    config = repo_config.render_config(settings)
    assert config["registry"]["registry_type"] == "sql"
    assert config["registry"]["path"].startswith("postgresql+psycopg2://feast:p%40ss@db:5433/feast")
    assert config["offline_store"] == {"type": "duckdb"}
    assert config["online_store"] == {
        "type": repo_config.POSTGRES_ONLINE_STORE,
        "host": "db",
        "port": 5433,
        "database": "feast",
        "user": "feast",
        "password": "p@ss",
        "sslmode": "disable",
    }
    redis_settings = dataclasses.replace(settings, feast_online_store="redis", redis_url="redis://:pw@redis:6379/1")
    redis = repo_config.render_config(redis_settings)
    assert redis["online_store"]["connection_string"] == 'redis:6379,db=1,password="pw"'


@pytest.mark.parametrize(
    "values, arrow_type, value_type",
    [
        ([1, None, 3, 1], pa.int64(), ValueType.INT64),
        ([0.5, None, float("nan"), 0.5], pa.float64(), ValueType.DOUBLE),
        (["x", None, "", "x"], pa.string(), ValueType.STRING),
        ([True, None, False, True], pa.bool_(), ValueType.BOOL),
        ([day(0), None, day(1), day(0)], pa.timestamp("us", tz="UTC"), ValueType.UNIX_TIMESTAMP),
    ],
    ids=["int64", "double", "string", "bool", "timestamp"],
)
def test_columnar_encoding_gives_feasts_value_for_every_row(values, arrow_type, value_type):
    column = pa.array(values, type=arrow_type)
    feasts = python_values_to_proto_values(column.to_numpy(zero_copy_only=False), value_type)
    encoded = columns.encode_column(column, value_type)
    assert [encoded.values[c].SerializeToString() for c in encoded.codes] == [v.SerializeToString() for v in feasts]


def test_columnar_entity_keys_are_feasts():
    ids = ["a", "item42", "ünïcode", ""]
    expected = [
        serialize_entity_key(EntityKeyProto(join_keys=["item_id"], entity_values=[ValueProto(string_val=i)]), 3)
        for i in ids
    ]
    assert columns.entity_keys(pa.array(ids), "item_id") == expected


# ---------------------------------------------------------------- Feast on PostgreSQL / Redis


def redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


ONLINE_STORES = [
    "postgres",
    pytest.param("redis", marks=pytest.mark.skipif(not redis_reachable(), reason="no Redis on 127.0.0.1:6379")),
]


@pytest.fixture
def feast_env(fresh_db, tmp_path):
    """Settings over a hand-made lake and a fresh feast database, and the (settings, Feast project)
    of one run on a given online store."""
    write_lake(tmp_path / "lake")
    env = {
        "KAIZEN_HOME": str(tmp_path / "home"),
        "KAIZEN_FEAST_DB_URL": fresh_db,
        "KAIZEN_LAKE_DIR": str(tmp_path / "lake"),
    }
    settings = Settings.from_env(env)
    created = []

    def run(kind: str) -> tuple[Settings, str]:
        created.append((dataclasses.replace(settings, feast_online_store=kind, redis_url=REDIS_URL), new_project()))
        return created[-1]

    yield settings, run
    for run_settings, project in created:  # Redis keys outlive the database: remove this run's
        if run_settings.feast_online_store == "redis":
            repo_config.feature_store(run_settings, project=project).teardown()


def new_project() -> str:
    """A Feast project of the test's own: Redis is shared by every test."""
    return f"t{uuid.uuid4().hex[:10]}"


def online(store, item_ids: list[str], service: str = "recommender_v1") -> pd.DataFrame:
    """Feast's online read of a feature service (what feast serve answers), ``view__feature`` columns."""
    features = store.get_feature_service(service)
    rows = store.get_online_features(features=features, entity_rows={"item_id": item_ids}, full_feature_names=True)
    return pd.DataFrame(rows.to_dict())


def online_snapshot(store, settings) -> list:
    """Every value the online store holds for the project, in a stable order."""
    if store.config.online_store.type != "redis":
        with psycopg2.connect(settings.feast_db_url) as conn, conn.cursor() as cur:
            rows = []
            for view in ONLINE_VIEWS:
                cur.execute(
                    f'SELECT entity_key, feature_name, value, event_ts FROM "{store.project}_{view}" ORDER BY 1, 2'
                )
                rows += [(view, bytes(k), f, bytes(v), ts) for k, f, v, ts in cur.fetchall()]
        conn.close()
        return rows
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    project = store.project.encode()
    keys = sorted(k for k in client.scan_iter(match=b"*" + project, count=1000))
    return [(k.removesuffix(project), sorted(client.hgetall(k).items())) for k in keys]  # keys end with the project


@pytest.mark.parametrize("kind", ONLINE_STORES)
def test_refresh_applies_materialises_and_serves_online(feast_env, kind):
    _, run = feast_env
    run_settings, project = run(kind)
    result = refresh(run_settings, project=project)
    assert result["online_store"] == kind
    assert result["tables"]["item_activity"] == 10 + 4 + 2 and result["rows"] == sum(result["tables"].values())
    assert set(result["materialized"]) == set(ONLINE_VIEWS)
    assert {"recommender_v1", "serving_v1", "item_activity"} <= set(result["applied"])

    store = repo_config.feature_store(run_settings, project=project)
    features = online(store, ["a", "c", "nope"])
    assert list(features["item_id"]) == ["a", "c", "nope"]
    a, c, nope = (features.iloc[i] for i in range(3))
    # a's latest row (day 33): one view and one purchase in 30 days; its latest catalogue row.
    assert (a["item_activity__views_30d"], a["item_activity__purchases_30d"], a["item_activity__carts_30d"]) == (
        1,
        1,
        0,
    )
    assert a["item_catalog__price"] == 12.0 and a["item_catalog__category_id"] == "x" and a["item_catalog__available"]
    assert a["item_catalog__first_seen"] == pd.Timestamp(day(-10))
    assert c["item_catalog__category_id"] == "y" and not c["item_catalog__available"]
    assert c["item_activity__views_1d"] == 1 and c["item_activity__views_7d"] == 2
    assert pd.isna(nope["item_activity__views_30d"]) and nope["item_catalog__category_id"] is None
    b = online(store, ["b"]).iloc[0]
    assert b["item_activity__views_30d"] == 0 and b["item_catalog__price"] == 6.0
    # What the model server reads per request: availability and category only.
    serving = online(store, ["a", "c", "nope"], "serving_v1")
    assert set(serving.columns) == {"item_id", "item_catalog__available", "item_catalog__category_id"}
    assert list(serving["item_catalog__available"]) == [True, False, None]


def test_online_reads_survive_the_server_closing_the_connection(feast_env):
    """What a PostgreSQL restart does to the online store's connection: only the read that
    meets it fails; the next one reconnects (Feast's own store kept the dead connection)."""
    _, run = feast_env
    run_settings, project = run("postgres")
    refresh(run_settings, project=project)
    store = repo_config.feature_store(run_settings, project=project)
    assert list(online(store, ["a"], "serving_v1")["item_catalog__available"]) == [True]
    with psycopg2.connect(run_settings.feast_db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    conn.close()
    with pytest.raises(psycopg.errors.AdminShutdown):  # the registry's pool pre-pings: only this read
        online(store, ["a"], "serving_v1")
    assert list(online(store, ["a"], "serving_v1")["item_catalog__available"]) == [True]


@pytest.mark.parametrize("kind", ONLINE_STORES)
def test_materialising_the_same_window_again_changes_nothing(feast_env, kind):
    settings, run = feast_env
    run_settings, project = run(kind)
    first = refresh(run_settings, project=project)
    store = repo_config.feature_store(run_settings, project=project)
    before = online_snapshot(store, settings)
    assert len(before) > 0
    for name, window in first["materialized"].items():
        materialization.materialize(
            store, datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"]), [name]
        )
    again = refresh(run_settings, project=project)
    assert again["changed"] == {}  # nothing to apply the second time
    after = online_snapshot(store, settings)
    assert len(after) == len(before) and after == before


@pytest.mark.parametrize("kind", ONLINE_STORES)
def test_columnar_materialisation_writes_exactly_what_feasts_own_path_does(feast_env, kind, monkeypatch):
    settings, run = feast_env
    ours, ours_project = run(kind)
    encoded, encode = [], materialize_engine.encode
    monkeypatch.setattr(
        materialize_engine, "encode", lambda batch, view, key: encoded.append(view.name) or encode(batch, view, key)
    )
    refresh(ours, project=ours_project)
    assert set(encoded) == set(ONLINE_VIEWS)  # every view took the columnar path
    # Feast's local engine (a protobuf per value) and, on PostgreSQL, its executemany writer.
    monkeypatch.setattr(repo_config, "MATERIALIZE_ENGINE", "local")
    monkeypatch.setattr(repo_config, "POSTGRES_ONLINE_STORE", "postgres")
    stock, stock_project = run(kind)
    refresh(stock, project=stock_project)
    columnar = online_snapshot(repo_config.feature_store(ours, project=ours_project), settings)
    feasts = online_snapshot(repo_config.feature_store(stock, project=stock_project), settings)
    assert len(columnar) == (3 * (15 + 4) if kind == "postgres" else 3)
    assert columnar == feasts


def test_training_rows_keep_the_values_in_force_at_their_time(feast_env):
    _, run = feast_env
    run_settings, project = run("postgres")
    refresh(run_settings, project=project)
    store = repo_config.feature_store(run_settings, project=project)
    entities = pd.DataFrame(
        {
            "item_id": ["a", "a", "a", "a", "a", "a"],
            "event_timestamp": [day(-20), day(0, 23.99), day(1), day(2, 12), day(4, 1), day(26)],
            "label": [0, 1, 2, 3, 4, 5],
        }
    )
    rows = training_set(store, entities, "recommender_v1").set_index("label").sort_index()
    views_7d = rows["item_activity__views_7d"]
    assert len(rows) == 6  # a row older than every feature row is kept, with NULLs
    assert math.isnan(views_7d[0]) and math.isnan(rows.loc[0, "item_catalog__price"])
    assert math.isnan(views_7d[1])  # day 0's counts are known only when day 0 ends
    assert views_7d[2] == 2 and rows.loc[2, "item_activity__views_1d"] == 2  # exactly at day 0's end
    # The 7-day views change to 3 at the end of day 3; a row on day 2 keeps the old value.
    assert views_7d[3] == 2 and views_7d[4] == 3
    assert views_7d[5] == 0  # day 26: day 10's view left the 7-day window
    # Price 10 until day 25 noon, 12 after.
    assert rows.loc[4, "item_catalog__price"] == 10.0 and rows.loc[5, "item_catalog__price"] == 12.0


def test_late_events_reach_the_online_store_on_the_next_refresh(feast_env):
    settings, run = feast_env
    run_settings, project = run("postgres")
    refresh(run_settings, project=project)
    # Day 35 is re-ingested with two more views of b (late events), and day 36 arrives.
    late = [*EVENTS, ("s6", "b", "view", day(35, 8)), ("s6", "b", "view", day(35, 9)), ("s7", "a", "view", day(36, 1))]
    write_lake(settings.lake_dir, late)
    second = refresh(run_settings, project=project)
    assert second["changed"] == {}
    start = datetime.fromisoformat(second["materialized"]["item_activity"]["start"])
    assert start < end_of(35)  # the margin re-reads the rewritten day
    store = repo_config.feature_store(run_settings, project=project)
    features = online(store, ["a", "b"]).set_index("item_id")
    assert features.loc["b", "item_activity__views_1d"] == 0 and features.loc["b", "item_activity__views_7d"] == 2
    assert features.loc["a", "item_activity__views_1d"] == 1


def test_apply_deletes_definitions_no_longer_in_the_repository(feast_env):
    from feast import FeatureView, Field, FileSource
    from feast.types import Int64

    from kaizen.features.definitions import item

    settings, run = feast_env
    run_settings, project = run("postgres")
    store = repo_config.feature_store(run_settings, project=project)
    engineering.build(settings.lake_dir)
    legacy_source = FileSource(
        name="item_daily_stats_source",
        path=str(ITEM_ACTIVITY.path(settings.lake_dir)),
        timestamp_field="event_timestamp",
    )
    legacy = FeatureView(
        name="item_daily_stats", entities=[item], schema=[Field(name="views_1d", dtype=Int64)], source=legacy_source
    )
    store.apply([item, legacy_source, legacy])
    applied = apply(store, settings.lake_dir)
    assert applied["changed"]["item_daily_stats"] == "DELETE" and applied["changed"]["item_activity"] == "CREATE"
    assert "item_daily_stats" not in {v.name for v in store.list_feature_views(allow_cache=False)}
    assert apply(store, settings.lake_dir)["changed"] == {}
    # Switching the online store changes every view: the next refresh materialises them whole.
    if redis_reachable():
        on_redis = dataclasses.replace(run_settings, feast_online_store="redis")
        switched = repo_config.feature_store(on_redis, project=project)
        try:
            changed = apply(switched, settings.lake_dir)["changed"]
            assert changed == {name: "UPDATE" for name in TABLES}
        finally:
            switched.teardown()


def test_refresh_of_an_empty_lake_registers_and_materialises_nothing(fresh_db, tmp_path):
    settings = Settings.from_env({"KAIZEN_HOME": str(tmp_path), "KAIZEN_FEAST_DB_URL": fresh_db})
    result = refresh(settings, project=new_project())
    assert result["rows"] == 0 and result["materialized"] == {}
    assert "recommender_v1" in result["applied"]


def test_training_popularity_is_the_7_day_views_in_force_at_the_split(feast_env):
    settings, _ = feast_env
    items = np.array(["a", "b", "c", "never-seen"])
    with pytest.raises(UpstreamMissing, match="materialize_features"):
        item_features(settings, items, pd.Timestamp(day(2, 12)))
    refresh(settings)
    features = item_features(settings, items, pd.Timestamp(day(2, 12)))
    assert len(features) == 4
    popularity = recent_popularity(features, items, counts=np.array([5.0, 1.0, 2.0, 0.0]))
    # a: the 2 views of day 0 (day 3's view comes after the split); b: 1; c and the unknown
    # item: none, ordered by the training window's counts (always below one view).
    assert popularity.astype(int).tolist() == [2, 1, 0, 0]
    assert popularity[0] > popularity[1] > popularity[2] > popularity[3] == 0.0
