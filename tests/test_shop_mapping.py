"""A shop that is not Kaizen's: its own schema, read through a mapping with a SELECT-only role.

The RetailRocket week is stored the way another shop might keep it (its own table and
column names, event names, integer categories, local timestamps without a time zone) and
ingested through a mapping by a role that may only read; the lake must equal what the demo
shop's built-in path makes of the same events.
"""

from __future__ import annotations

import io
import subprocess
import uuid
from pathlib import Path

import pandas as pd
import psycopg2
import pytest
from psycopg2 import sql

from conftest import KAIZEN, RETAILROCKET
from kaizen import datasets, lake
from kaizen.config import PROJECT_DIR, Settings
from kaizen.db_urls import component_url, with_database
from kaizen.errors import ConfigError
from kaizen.ingest.check import check_shop, require_ready
from kaizen.ingest.mapping import parse
from kaizen.ingest.pipeline import ingest_everything, source_for
from kaizen.shop import loaders

SHOP_ZONE = "Europe/Berlin"
ACTION = {"view": "pageview", "addtocart": "add_to_cart", "transaction": "purchase"}

FOREIGN_SCHEMA = """
CREATE SCHEMA retail;
CREATE TABLE retail.clickstream (
    id           bigserial PRIMARY KEY,
    sid          varchar(64),
    customer_ref varchar(64),
    sku          varchar(64),
    action       varchar(32),
    ts           timestamp without time zone      -- the shop's local time
);
CREATE INDEX clickstream_ts_idx ON retail.clickstream (ts);
CREATE TABLE retail.catalogue (
    sku          varchar(64) PRIMARY KEY,
    category     integer,
    unit_price   numeric(10, 2),
    in_stock     boolean NOT NULL DEFAULT true,
    modified     timestamp without time zone NOT NULL
);
"""

MAPPING = f"""
version: 1
events:
  from: retail.clickstream
  timezone: {SHOP_ZONE}
  columns:
    event_id: id
    session_id: sid
    visitor_id: customer_ref
    item_id: sku
    event_type: action
    occurred_at: ts
  event_types:
    view: [pageview]
    addtocart: [add_to_cart]
    transaction: [purchase]
catalog:
  from: retail.catalogue
  timezone: {SHOP_ZONE}
  columns:
    item_id: sku
    category_id: category
    price: unit_price
    available: in_stock
    updated_at: modified
"""


def _copy(url: str, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH CSV", buffer)
    conn.close()


def _local(times: pd.Series) -> pd.Series:
    return times.dt.tz_convert(SHOP_ZONE).dt.tz_localize(None).dt.strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.fixture
def foreign_shop(new_database, pg_admin_url) -> str:
    """The RetailRocket week in another shop's schema; a SELECT-only login's URL."""
    url = new_database()
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(FOREIGN_SCHEMA)
    conn.close()
    events = datasets.read("retailrocket", RETAILROCKET)
    _copy(
        url,
        "retail.clickstream",
        pd.DataFrame(
            {
                "sid": events["session_id"],
                "customer_ref": events["visitor_id"],
                "sku": events["item_id"],
                "action": events["event_type"].map(ACTION),
                "ts": _local(events["occurred_at"]),
            }
        ),
    )
    items = (
        events.sort_values("occurred_at")
        .groupby("item_id", as_index=False)
        .agg(category=("category_id", "last"), modified=("occurred_at", "min"))
    )
    _copy(
        url,
        "retail.catalogue",
        pd.DataFrame(
            {
                "sku": items["item_id"],
                "category": pd.to_numeric(items["category"]).astype("Int64"),
                "modified": _local(items["modified"]),
            }
        ),
    )
    reader = f"kz_reader_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(pg_admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'read-only'").format(sql.Identifier(reader)))
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        database = url.rsplit("/", 1)[1]
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {role}",
            "GRANT USAGE ON SCHEMA retail TO {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA retail TO {role}",
        ):
            cur.execute(sql.SQL(statement).format(db=sql.Identifier(database), role=sql.Identifier(reader)))
    conn.close()
    yield with_database(component_url(pg_admin_url, reader, "read-only"), database)
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(reader)))
    admin.close()


def settings_for(shop_url: str, kaizen_db: str, home: Path, mapping: Path | None = None) -> Settings:
    env = {
        "KAIZEN_HOME": str(home),
        "KAIZEN_SHOP_DB_URL": shop_url,
        "KAIZEN_DB_URL": kaizen_db,
        "KAIZEN_SHOP_OPENED": "2015-01-01",
    }
    if mapping:
        env["KAIZEN_SHOP_MAPPING"] = str(mapping)
    return Settings.from_env(env)


@pytest.fixture
def mapping_file(tmp_path) -> Path:
    path = tmp_path / "shop-mapping.yaml"
    path.write_text(MAPPING)
    return path


def _lake(home: Path) -> pd.DataFrame:
    """The lake's events without what is each shop's own: its ids, and when it stored a row."""
    events = lake.read_events(home / "lake").drop(columns=["event_id", "recorded_at"])
    return events.sort_values(list(events.columns)).reset_index(drop=True)


def test_a_shop_with_its_own_schema_ingests_like_the_demo_shop_through_a_select_only_role(
    foreign_shop, mapping_file, new_database, tmp_path
):
    foreign = settings_for(foreign_shop, new_database(), tmp_path / "foreign", mapping_file)
    through_mapping = ingest_everything(foreign, "mapped")

    demo_shop = new_database()
    loaders.load(demo_shop, "retailrocket", RETAILROCKET)
    built_in = ingest_everything(settings_for(demo_shop, new_database(), tmp_path / "demo"), "built-in")

    assert through_mapping.rows_read == built_in.rows_read == 38_741
    assert (through_mapping.rows_written, through_mapping.quarantined_by_rule) == (
        built_in.rows_written,
        built_in.quarantined_by_rule,
    )
    assert through_mapping.partitions == built_in.partitions
    pd.testing.assert_frame_equal(_lake(tmp_path / "foreign"), _lake(tmp_path / "demo"))
    # The role could not have written: it may change nothing in the shop's database.
    assert source_for(foreign).write_privileges() == []


def test_shop_check_shows_what_a_run_would_read(foreign_shop, mapping_file, kaizen_db, tmp_path):
    result = check_shop(settings_for(foreign_shop, kaizen_db, tmp_path, mapping_file), days=3)
    assert result.ok, result.render()
    assert list(result.rows_by_day["day"].astype(str)) == ["2015-09-16", "2015-09-17", "2015-09-18"]
    assert {"view", "addtocart", "transaction"} <= set(result.rows_by_day.columns)
    assert "unmapped" not in result.rows_by_day.columns
    assert set(result.quarantined_by_rule) == {"duplicate_event"}
    text = result.render()
    assert "the login can only read" in text and "rows that would be quarantined: duplicate_event" in text

    cli = subprocess.run(
        [*KAIZEN, "shop", "check", "--days", "3"],
        env={
            "PATH": "/usr/bin:/bin",
            "KAIZEN_HOME": str(tmp_path),
            "KAIZEN_SHOP_DB_URL": foreign_shop,
            "KAIZEN_SHOP_MAPPING": str(mapping_file),
        },
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "rows per day and event type" in cli.stdout and "pageview" not in cli.stdout


def test_shop_check_fails_for_a_login_that_can_write_and_for_unmapped_event_types(
    foreign_shop, mapping_file, pg_admin_url, kaizen_db, tmp_path
):
    owner_url = with_database(pg_admin_url, foreign_shop.rsplit("/", 1)[1])
    with psycopg2.connect(owner_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO retail.clickstream (sid, customer_ref, sku, action, ts) "
            "SELECT sid, customer_ref, sku, 'wishlist', ts FROM retail.clickstream WHERE ts >= '2015-09-18'"
        )
    conn.close()
    result = check_shop(settings_for(owner_url, kaizen_db, tmp_path, mapping_file), days=1)
    assert not result.ok
    problems = "\n".join(result.problems)
    assert "the login can change the shop's database (superuser" in problems
    assert "events.event_types: the shop's 'wishlist'" in problems
    assert "unmapped" in result.rows_by_day.columns
    # The DAGs' check_source task: the same report, as the error that fails the task.
    with pytest.raises(ConfigError, match=r"not ready for ingestion:\n(.|\n)*FAIL  the login can change"):
        require_ready(settings_for(owner_url, kaizen_db, tmp_path, mapping_file))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    session_id: sid", "    session_id: sid_typo"), "events.columns.session_id: column 'sid_typo' is not in"),
        (("    occurred_at: ts", "    occurred_at: sku"), "events.columns.occurred_at: column 'sku' is varchar"),
        (
            ("    available: in_stock", "    available: category"),
            "catalog.columns.available: column 'category' is int4",
        ),
        (("  from: retail.clickstream", "  from: retail.clicks"), "events.from: 'retail.clicks' cannot be read"),
    ],
)
def test_a_mapping_that_does_not_fit_the_database_names_the_field(
    foreign_shop, mapping_file, kaizen_db, tmp_path, change, message
):
    mapping_file.write_text(MAPPING.replace(*change))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        source_for(settings_for(foreign_shop, kaizen_db, tmp_path, mapping_file))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    session_id: sid", "    sesion_id: sid"), "events.columns.sesion_id: Extra inputs are not permitted"),
        (("    item_id: sku\n    event_type", "    event_type"), "events.columns.item_id: Field required"),
        ((f"timezone: {SHOP_ZONE}", "timezone: Mars/Olympus"), "events.timezone: Value error, unknown time zone"),
        (("    addtocart: [add_to_cart]", "    addtocart: [pageview]"), "'pageview' is mapped to both view and"),
        (("    view: [pageview]", "    click: [pageview]"), "events.event_types.click"),
        (("    event_id: id", "    event_id: id; drop table x"), "events.columns.event_id: String should match"),
    ],
)
def test_a_malformed_mapping_is_refused_with_the_field(tmp_path, change, message):
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING.replace(*change, 1))
    with pytest.raises(ConfigError, match=message):
        parse(path)


def test_the_demo_shop_mapping_is_the_default(tmp_path):
    from kaizen.ingest.mapping import DEMO_SHOP, load

    assert load(Settings.from_env({"KAIZEN_HOME": str(tmp_path)})).path == DEMO_SHOP
