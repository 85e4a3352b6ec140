"""The prediction log's COPY rows reach PostgreSQL exactly as answered, whatever the ids hold,
and none is lost while the database is away."""

import time

import psycopg2
import pytest

from kaizen.database import migrate
from kaizen.serving.prediction_log import PredictionLog

ODD = [
    "plain",
    'a "quoted" id',
    "back\\slash",
    "tab\there",
    "new\nline",
    "{braces},commas",
    "NULL",
    "ünïcødé ✓",
    "",
]


@pytest.fixture
def logged(kaizen_db):
    migrate(kaizen_db)

    def rows(expected: int) -> list[tuple]:
        deadline = time.monotonic() + 10
        while True:
            with psycopg2.connect(kaizen_db) as conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT session_id, items, recommended, model_name, model_version, latency_ms, features"
                    " FROM prediction_log ORDER BY id"
                )
                found = cur.fetchall()
            conn.close()
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    return PredictionLog(kaizen_db, flush_s=0.1), rows


def test_odd_ids_round_trip(logged):
    log, rows = logged
    log.record("s-1", ODD, list(reversed(ODD)), "kaizen-recommender", "3", 1.23456, "online")
    log.record(None, ["a"], [], "kaizen-recommender", "3", 0.5, "fallback")
    assert rows(2) == [
        ("s-1", ODD, list(reversed(ODD)), "kaizen-recommender", "3", pytest.approx(1.235), "online"),
        (None, ["a"], [], "kaizen-recommender", "3", 0.5, "fallback"),
    ]


def test_a_nul_byte_is_stored_as_the_replacement_character(logged):
    log, rows = logged
    log.record("s\0", ["a\0b"], ["c"], "kaizen-recommender", "3", 1.0, "online")
    assert rows(1)[0][:2] == ("s\ufffd", ["a\ufffdb"])


def test_rows_wait_while_the_database_is_unreachable_and_none_is_lost(logged, kaizen_db, pg_admin_url):
    """What a restart does: connections cut, new ones refused for a while; then every row arrives."""
    log, rows = logged
    name = psycopg2.extensions.parse_dsn(kaizen_db)["dbname"]

    def admin(sql: str) -> None:
        conn = psycopg2.connect(pg_admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()

    log.record("s-before", ["a"], ["b"], "m", "1", 1.0, "online")
    assert len(rows(1)) == 1  # connected
    admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    try:
        for n in range(50):
            log.record(f"s-{n}", ["a"], ["b"], "m", "1", 1.0, "online")
        time.sleep(0.5)  # several failed flushes
    finally:
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert [row[0] for row in rows(51)] == ["s-before"] + [f"s-{n}" for n in range(50)]
    assert log.dropped == 0


def test_a_full_queue_drops_new_rows_and_counts_them(kaizen_db):
    migrate(kaizen_db)
    log = PredictionLog(kaizen_db, max_pending=2, flush_s=60)  # nothing is sent during the test
    for n in range(5):
        log.record(f"s-{n}", ["a"], ["b"], "m", "1", 1.0, "online")
    assert log.newly_dropped() == 3 and log.newly_dropped() == 0
