"""The prediction log's COPY rows reach PostgreSQL exactly as answered, whatever the ids hold."""

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
                    "SELECT session_id, items, recommended, model_name, model_version, latency_ms"
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
    log.record("s-1", ODD, list(reversed(ODD)), "kaizen-recommender", "3", 1.23456)
    log.record(None, ["a"], [], "kaizen-recommender", "3", 0.5)
    assert rows(2) == [
        ("s-1", ODD, list(reversed(ODD)), "kaizen-recommender", "3", pytest.approx(1.235)),
        (None, ["a"], [], "kaizen-recommender", "3", 0.5),
    ]


def test_a_nul_byte_is_stored_as_the_replacement_character(logged):
    log, rows = logged
    log.record("s\0", ["a\0b"], ["c"], "kaizen-recommender", "3", 1.0)
    assert rows(1)[0][:2] == ("s\ufffd", ["a\ufffdb"])
