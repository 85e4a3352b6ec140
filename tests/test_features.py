"""Features: engineering on a hand-made lake, Feast apply/materialise/read on real PostgreSQL
(and Redis when one answers on 127.0.0.1:6379), point-in-time training rows, idempotence."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from feast import ValueType
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import python_values_to_proto_values

from kaizen import lake
from kaizen.config import Settings
from kaizen.features import columns, engineering, materialize_engine
from kaizen.features import store as fstore
from kaizen.ingest.source import SOURCE_SCHEMA
from kaizen.training.item_features import item_features, recent_popularity

UTC = UTC
D0 = datetime(2025, 3, 1, tzinfo=UTC)
REDIS_URL = "redis://127.0.0.1:6379/11"
ONLINE_VIEWS = ("item_activity", "item_catalog", "category_trend")


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


def test_category_trend_against_the_previous_7_day_average(tables):
    trend = tables["category_trend"]
    x = trend[trend["category_id"] == "x"]
    assert len(x) == LAST_DAY + 1  # dense: every day from day 0
    first = row_at(trend, "category_id", "x", end_of(0))
    assert (first["views_1d"], first["views_prev_7d_avg"], first["view_trend"]) == (3, 3.0, 1.0)  # no history yet
    day1 = row_at(trend, "category_id", "x", end_of(1))
    assert (day1["views_1d"], day1["views_prev_7d_avg"], day1["view_trend"]) == (0, 3.0, 0.25)
    day10 = row_at(trend, "category_id", "x", end_of(10))
    assert day10["views_1d"] == 1 and day10["purchases_1d"] == 1
    assert day10["views_prev_7d_avg"] == pytest.approx(1 / 7)  # days 3..9: one view
    assert day10["view_trend"] == pytest.approx(2 / (1 + 1 / 7))
    y = row_at(trend, "category_id", "y", end_of(35))
    assert y["views_1d"] == 1 and y["views_7d"] == 2 and y["view_trend"] == pytest.approx(2 / (1 + 1 / 7))


def test_session_stats_accumulate_across_midnight(tables):
    sessions = tables["session_stats"]
    before = row_at(sessions, "session_id", "s5", end_of(34))
    after = row_at(sessions, "session_id", "s5", end_of(35))
    assert (before["session_length"], before["distinct_items"], before["duration_s"]) == (1, 1, 0.0)
    assert (after["session_length"], after["distinct_items"], after["duration_s"]) == (2, 1, 600.0)
    assert (after["last_item_id"], after["last_category_id"]) == ("c", "y")
    s1 = row_at(sessions, "session_id", "s1", end_of(0))
    assert (s1["session_length"], s1["distinct_items"], s1["last_category_id"]) == (2, 1, "x")


def test_an_empty_lake_gives_empty_tables(tmp_path):
    tables = engineering.compute(tmp_path / "nothing")
    assert set(tables) == set(engineering.TABLES) and all(t.empty for t in tables.values())
    paths = engineering.build(tmp_path / "nothing")
    assert all(engineering.table_rows(p) == 0 for p in paths.values())


# ---------------------------------------------------------------- configuration


def test_online_store_choice_and_redis_connection_string():
    assert fstore.online_store_choice("postgres", "") == ("postgres", "")
    assert fstore.online_store_choice("Redis", "redis://r:6379/1") == ("redis", "redis://r:6379/1")
    with pytest.raises(ValueError, match="KAIZEN_FEAST_ONLINE_STORE"):
        fstore.online_store_choice("sqlite", "")
    with pytest.raises(ValueError, match="KAIZEN_REDIS_URL"):
        fstore.online_store_choice("redis", "")
    assert fstore.redis_connection_string("redis://:s3cr%2Ft@redis:6380/1") == 'redis:6380,db=1,password="s3cr/t"'
    assert fstore.redis_connection_string("rediss://u:1e5@h") == 'h:6379,db=0,username="u",password="1e5",ssl=true'


def test_render_config_sql_registry_duckdb_and_online_store(tmp_path):
    settings = Settings.from_env(
        {"KAIZEN_HOME": str(tmp_path), "KAIZEN_FEAST_DB_URL": "postgresql://feast:p%40ss@db:5433/feast"}
    )
    config = fstore.render_config(settings, online_store="postgres")
    assert config["registry"]["registry_type"] == "sql"
    assert config["registry"]["path"].startswith("postgresql+psycopg2://feast:p%40ss@db:5433/feast")
    assert config["offline_store"] == {"type": "duckdb"}
    assert config["online_store"] == {
        "type": fstore.POSTGRES_ONLINE_STORE,
        "host": "db",
        "port": 5433,
        "database": "feast",
        "user": "feast",
        "password": "p@ss",
        "sslmode": "disable",
    }
    redis = fstore.render_config(settings, online_store="redis", redis_url="redis://:pw@redis:6379/1")
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
    """Settings over a hand-made lake and a fresh feast database, and the store options of one run."""
    write_lake(tmp_path / "lake")
    env = {
        "KAIZEN_HOME": str(tmp_path / "home"),
        "KAIZEN_FEAST_DB_URL": fresh_db,
        "KAIZEN_LAKE_DIR": str(tmp_path / "lake"),
    }
    settings = Settings.from_env(env)
    created = []

    def options(kind: str) -> dict:
        option = {"online_store": kind, "redis_url": REDIS_URL, "project": f"t{uuid.uuid4().hex[:10]}"}
        created.append(option)
        return option

    yield settings, options
    for option in created:  # Redis keys outlive the database: remove this run's
        if option["online_store"] == "redis":
            fstore.feature_store(settings, **option).teardown()


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
    settings, options = feast_env
    option = options(kind)
    result = fstore.refresh(settings, **option)
    assert result["online_store"] == kind
    assert result["tables"]["item_activity"] == 10 + 4 + 2 and result["rows"] == sum(result["tables"].values())
    assert set(result["materialized"]) == set(ONLINE_VIEWS)  # session_stats is offline only
    assert {"recommender_v1", "recommender_v2", "item_activity"} <= set(result["applied"])

    store = fstore.feature_store(settings, **option)
    online = pd.DataFrame(fstore.online_features(store, ["a", "c", "nope"], "recommender_v2"))
    assert list(online["item_id"]) == ["a", "c", "nope"]
    a, c, nope = (online.iloc[i] for i in range(3))
    # a's latest row (day 33): one view and one purchase in 30 days; its latest catalogue row.
    assert (a["item_activity__views_30d"], a["item_activity__purchases_30d"], a["item_activity__carts_30d"]) == (
        1,
        1,
        0,
    )
    assert a["item_catalog__price"] == 12.0 and a["item_catalog__category_id"] == "x" and a["item_catalog__available"]
    assert a["item_catalog__first_seen"] == pd.Timestamp(day(-10))
    assert a["category_trend__views_1d"] == 0 and a["category_trend__view_trend"] == 1.0
    assert c["item_catalog__category_id"] == "y" and not c["item_catalog__available"]
    assert c["category_trend__view_trend"] == pytest.approx(2 / (1 + 1 / 7))
    assert c["item_activity__views_1d"] == 1 and c["item_activity__views_7d"] == 2
    assert not any(col.startswith("session_stats") for col in online.columns)
    assert pd.isna(nope["item_activity__views_30d"]) and nope["item_catalog__category_id"] is None
    v1 = pd.DataFrame(fstore.online_features(store, ["b"]))  # recommender_v1: item features only
    assert not any(col.startswith(("category_trend", "session_stats")) for col in v1.columns)
    assert v1.iloc[0]["item_activity__views_30d"] == 0 and v1.iloc[0]["item_catalog__price"] == 6.0


@pytest.mark.parametrize("kind", ONLINE_STORES)
def test_materialising_the_same_window_again_changes_nothing(feast_env, kind):
    settings, options = feast_env
    option = options(kind)
    first = fstore.refresh(settings, **option)
    store = fstore.feature_store(settings, **option)
    before = online_snapshot(store, settings)
    assert len(before) > 0
    for name, window in first["materialized"].items():
        fstore.materialize(
            store, datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"]), [name]
        )
    again = fstore.refresh(settings, **option)
    assert again["changed"] == {}  # nothing to apply the second time
    after = online_snapshot(store, settings)
    assert len(after) == len(before) and after == before


@pytest.mark.parametrize("kind", ONLINE_STORES)
def test_columnar_materialisation_writes_exactly_what_feasts_own_path_does(feast_env, kind, monkeypatch):
    settings, options = feast_env
    ours = options(kind)
    encoded, encode = [], materialize_engine.encode
    monkeypatch.setattr(
        materialize_engine, "encode", lambda batch, view, key: encoded.append(view.name) or encode(batch, view, key)
    )
    fstore.refresh(settings, **ours)
    assert set(encoded) == set(ONLINE_VIEWS)  # every view took the columnar path
    # Feast's local engine (a protobuf per value) and, on PostgreSQL, its executemany writer.
    monkeypatch.setattr(fstore, "MATERIALIZE_ENGINE", "local")
    monkeypatch.setattr(fstore, "POSTGRES_ONLINE_STORE", "postgres")
    stock = options(kind)
    fstore.refresh(settings, **stock)
    columnar = online_snapshot(fstore.feature_store(settings, **ours), settings)
    feasts = online_snapshot(fstore.feature_store(settings, **stock), settings)
    assert len(columnar) == (3 * (15 + 4) + 2 * 6 if kind == "postgres" else 3 + 2)
    assert columnar == feasts


def test_training_rows_keep_the_values_in_force_at_their_time(feast_env):
    settings, options = feast_env
    option = options("postgres")
    fstore.refresh(settings, **option)
    store = fstore.feature_store(settings, **option)
    entities = pd.DataFrame(
        {
            "item_id": ["a", "a", "a", "a", "a", "a"],
            "session_id": ["s3"] * 6,
            "event_timestamp": [day(-20), day(0, 23.99), day(1), day(2, 12), day(4, 1), day(26)],
            "label": [0, 1, 2, 3, 4, 5],
        }
    )
    rows = fstore.training_set(store, entities, "recommender_v2").set_index("label").sort_index()
    views_7d = rows["item_activity__views_7d"]
    assert len(rows) == 6  # a row older than every feature row is kept, with NULLs
    assert math.isnan(views_7d[0]) and math.isnan(rows.loc[0, "item_catalog__price"])
    assert math.isnan(views_7d[1])  # day 0's counts are known only when day 0 ends
    assert views_7d[2] == 2 and rows.loc[2, "item_activity__views_1d"] == 2  # exactly at day 0's end
    # The 7-day views change to 3 at the end of day 3; a row on day 2 keeps the old value.
    assert views_7d[3] == 2 and views_7d[4] == 3
    # Price 10 until day 25 noon, 12 after; the category trend joins on the category as of then.
    assert rows.loc[4, "item_catalog__price"] == 10.0 and rows.loc[5, "item_catalog__price"] == 12.0
    assert rows.loc[4, "category_id"] == "x" and rows.loc[4, "category_trend__views_1d"] == 1  # day 3's row
    assert rows.loc[4, "category_trend__views_prev_7d_avg"] == pytest.approx(1.0)
    # Session s3 (day 3) is known from the end of day 3 on.
    assert (
        math.isnan(rows.loc[3, "session_stats__session_length"]) and rows.loc[4, "session_stats__session_length"] == 2
    )
    with pytest.raises(ValueError, match="session_id"):
        fstore.training_set(store, entities.drop(columns="session_id"), "recommender_v2")
    v1 = fstore.training_set(store, entities.drop(columns="session_id"))  # recommender_v1: items only
    assert list(v1.sort_values("label")["item_activity__views_7d"].fillna(-1)) == [-1, -1, 2, 2, 3, 0]


def test_late_events_reach_the_online_store_on_the_next_refresh(feast_env):
    settings, options = feast_env
    option = options("postgres")
    fstore.refresh(settings, **option)
    # Day 35 is re-ingested with two more views of b (late events), and day 36 arrives.
    late = [*EVENTS, ("s6", "b", "view", day(35, 8)), ("s6", "b", "view", day(35, 9)), ("s7", "a", "view", day(36, 1))]
    write_lake(settings.lake_dir, late)
    second = fstore.refresh(settings, **option)
    assert second["changed"] == {}
    start = datetime.fromisoformat(second["materialized"]["item_activity"]["start"])
    assert start < end_of(35)  # the margin re-reads the rewritten day
    store = fstore.feature_store(settings, **option)
    online = pd.DataFrame(fstore.online_features(store, ["a", "b"])).set_index("item_id")
    assert online.loc["b", "item_activity__views_1d"] == 0 and online.loc["b", "item_activity__views_7d"] == 2
    assert online.loc["a", "item_activity__views_1d"] == 1


def test_apply_deletes_definitions_no_longer_in_the_repository(feast_env):
    from feast import FeatureView, Field, FileSource
    from feast.types import Int64

    from kaizen.features.definitions import item

    settings, options = feast_env
    option = options("postgres")
    store = fstore.feature_store(settings, **option)
    engineering.build(settings.lake_dir)
    legacy_source = FileSource(
        name="item_daily_stats_source",
        path=str(engineering.table_path(settings.lake_dir, "item_activity")),
        timestamp_field="event_timestamp",
    )
    legacy = FeatureView(
        name="item_daily_stats", entities=[item], schema=[Field(name="views_1d", dtype=Int64)], source=legacy_source
    )
    store.apply([item, legacy_source, legacy])
    applied = fstore.apply(store, settings.lake_dir)
    assert applied["changed"]["item_daily_stats"] == "DELETE" and applied["changed"]["item_activity"] == "CREATE"
    assert "item_daily_stats" not in {v.name for v in store.list_feature_views(allow_cache=False)}
    assert fstore.apply(store, settings.lake_dir)["changed"] == {}
    # Switching the online store changes every view: the next refresh materialises them whole.
    if redis_reachable():
        switched = fstore.feature_store(settings, **{**option, "online_store": "redis"})
        try:
            changed = fstore.apply(switched, settings.lake_dir)["changed"]
            assert changed == {name: "UPDATE" for name in engineering.TABLES}
        finally:
            switched.teardown()


def test_refresh_of_an_empty_lake_registers_and_materialises_nothing(fresh_db, tmp_path):
    settings = Settings.from_env({"KAIZEN_HOME": str(tmp_path), "KAIZEN_FEAST_DB_URL": fresh_db})
    result = fstore.refresh(settings, project=f"t{uuid.uuid4().hex[:10]}", online_store="postgres")
    assert result["rows"] == 0 and result["materialized"] == {}
    assert "recommender_v1" in result["applied"]


def test_training_popularity_is_the_7_day_views_in_force_at_the_split(feast_env):
    settings, _ = feast_env
    items = np.array(["a", "b", "c", "never-seen"])
    with pytest.raises(RuntimeError, match="materialize_features"):
        item_features(settings, items, pd.Timestamp(day(2, 12)))
    fstore.refresh(settings)
    features = item_features(settings, items, pd.Timestamp(day(2, 12)))
    assert len(features) == 4
    popularity = recent_popularity(features, items, counts=np.array([5.0, 1.0, 2.0, 0.0]))
    # a: the 2 views of day 0 (day 3's view comes after the split); b: 1; c and the unknown
    # item: none, ordered by the training window's counts (always below one view).
    assert popularity.astype(int).tolist() == [2, 1, 0, 0]
    assert popularity[0] > popularity[1] > popularity[2] > popularity[3] == 0.0
