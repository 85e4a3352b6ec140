"""Loading real public event logs into the shop schema (real PostgreSQL)."""

import psycopg2
import pytest

from conftest import OTTO, RETAILROCKET
from kaizen import database, datasets
from kaizen.errors import ConfigError
from kaizen.shop import loaders
from kaizen.shop.schema import migrate


def count(url: str, query: str) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchone()[0]


def test_migrations_apply_once(fresh_db, kaizen_db):
    assert migrate(fresh_db) == ["0001_shop_schema.sql"]
    assert migrate(fresh_db) == []
    kaizen_tables = [
        "0001_ingest_quarantine.sql",
        "0002_prediction_log.sql",
        "0003_ingestion_bookkeeping.sql",
        "0004_monitoring.sql",
    ]
    assert database.migrate(kaizen_db) == kaizen_tables
    assert database.migrate(kaizen_db) == []


def test_retailrocket_week_loads_every_event(fresh_db):
    result = loaders.load(fresh_db, "retailrocket", RETAILROCKET)
    assert result == {"events": 38_741, "new_items": 12_468}
    assert count(fresh_db, "SELECT count(*) FROM events") == 38_741
    assert count(fresh_db, "SELECT count(DISTINCT session_id) FROM events") == 12_213
    assert count(fresh_db, "SELECT count(DISTINCT visitor_id) FROM events") == 10_937
    assert count(fresh_db, "SELECT count(*) FROM products WHERE category_id IS NOT NULL") == 12_468


def test_otto_sample_loads_with_mapped_event_types(fresh_db):
    assert loaders.load(fresh_db, "otto", OTTO) == {"events": 862, "new_items": 510}
    assert count(fresh_db, "SELECT count(DISTINCT session_id) FROM events") == 20
    assert (
        count(fresh_db, "SELECT count(*) FROM events WHERE event_type NOT IN ('view', 'addtocart', 'transaction')") == 0
    )


def test_session_rec_and_diginetica_formats(fresh_db, tmp_path):
    sessionrec = tmp_path / "rsc15_test.txt"
    sessionrec.write_text("SessionId\tItemId\tTime\n1\t214\t1396321232.0\n1\t215\t1396321275.5\n2\t214\t1396321300.0\n")
    diginetica = tmp_path / "train-item-views.csv"
    diginetica.write_text(
        "session_id;user_id;item_id;timeframe;eventdate\n1;NA;81766;526309;2016-05-09\n1;NA;31331;1031018;2016-05-09\n"
    )
    assert loaders.load(fresh_db, "sessionrec", sessionrec) == {"events": 3, "new_items": 2}
    assert loaders.load(fresh_db, "diginetica", diginetica) == {"events": 2, "new_items": 2}
    assert count(fresh_db, "SELECT count(*) FROM events WHERE occurred_at = '2016-05-09 00:08:46.309+00'") == 1


def test_unknown_format_is_refused():
    with pytest.raises(ConfigError, match="unknown format 'csv'"):
        datasets.read("csv", RETAILROCKET)
