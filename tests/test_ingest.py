"""Ingestion from the shop's PostgreSQL: validation, quarantine, idempotent re-runs, late events."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import psycopg2
import pyarrow as pa
import pytest

from conftest import RETAILROCKET
from kaizen import lake
from kaizen.config import Settings
from kaizen.errors import DataQualityError
from kaizen.ingest.pipeline import days_for_interval, ingest_days, ingest_everything, ingest_interval
from kaizen.shop import loaders
from kaizen.shop.schema import migrate

UTC = UTC
DAY1, DAY2 = date(2015, 9, 11), date(2015, 9, 12)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


# (rule, session_id, visitor_id, item_id, event_type, occurred_at); item "a", "b", "c" exist.
BAD_ROWS = [
    ("null_session_id", None, "v9", "a", "view", at(DAY1, 10)),
    ("null_item_id", "s9", "v9", None, "view", at(DAY1, 10)),
    ("null_event_type", "s9", "v9", "a", None, at(DAY1, 10, 1)),
    ("null_occurred_at", "s9", "v9", "a", "view", None),
    ("malformed_session_id", "s 10", "v10", "a", "view", at(DAY1, 11)),
    ("malformed_item_id", "s11", "v11", "a;drop table", "view", at(DAY1, 11)),
    ("unknown_event_type", "s12", "v12", "a", "click", at(DAY1, 12)),
    ("future_timestamp", "s13", "v13", "a", "view", at(DAY2, 23)),
    ("before_shop_opened", "s14", "v14", "a", "view", at(DAY1, 2)),
    ("unknown_item", "s15", "v15", "zzz", "view", at(DAY1, 12)),
    ("duplicate_event", "s1", "v1", "a", "view", at(DAY1, 9)),  # a copy of the first good row
    ("session_visitor_conflict", "s16", "v16", "a", "view", at(DAY1, 13)),
    ("session_visitor_conflict", "s16", "v17", "b", "view", at(DAY1, 13, 5)),
]
GOOD_ROWS = [
    ("s1", "v1", "a", "view", at(DAY1, 9)),
    ("s1", "v1", "b", "view", at(DAY1, 9, 5)),
    ("s1", "v1", "b", "addtocart", at(DAY1, 9, 6)),
    ("s2", "v2", "c", "view", at(DAY2, 8)),
    ("s2", "v2", "a", "transaction", at(DAY2, 8, 30)),
] + [("s3", "v3", "abc"[i % 3], "view", at(DAY2, 9, i)) for i in range(5)]
TOO_LONG = [("s4", "v4", "a", "view", at(DAY2, 10, i)) for i in range(7)]
NOW = at(DAY2, 20)  # events after this are "in the future" for the run


@pytest.fixture
def shop(fresh_db) -> str:
    migrate(fresh_db)
    insert(fresh_db, [row[1:] for row in BAD_ROWS] + GOOD_ROWS + TOO_LONG)
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO products (item_id, category_id) VALUES (%s, %s)", [("a", "1"), ("b", "1"), ("c", "2")]
        )
        # The event without a time was recorded on day 1.
        cur.execute("UPDATE events SET recorded_at = %s WHERE occurred_at IS NULL", (at(DAY1, 15),))
    conn.close()
    return fresh_db


def insert(url: str, rows: list[tuple]) -> None:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO events (session_id, visitor_id, item_id, event_type, occurred_at) VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
    conn.close()


def settings_for(url: str, kaizen_db: str, lake_dir, **overrides) -> Settings:
    env = {
        "KAIZEN_HOME": str(lake_dir),
        "KAIZEN_SHOP_DB_URL": url,
        "KAIZEN_DB_URL": kaizen_db,
        "KAIZEN_SHOP_OPENED": "2015-09-11T06:00:00",
        "KAIZEN_MAX_SESSION_EVENTS": "6",
        "KAIZEN_INGEST_MAX_BAD_RATE": "1.0",
    }
    return Settings.from_env({**env, **overrides})


def quarantine(url: str) -> pd.DataFrame:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM ingest_quarantine ORDER BY event_id")
        frame = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    conn.close()
    return frame


def lake_rows(lake_dir) -> list[tuple]:
    events = lake.read_events(lake_dir / "lake")
    return sorted(events[["event_id", "session_id", "item_id", "event_type", "date"]].itertuples(index=False))


def test_reading_the_newest_days_reads_only_their_partitions(tmp_path):
    import pyarrow as pa

    days = [date(2015, 9, 11), date(2015, 9, 12), date(2015, 9, 14)]
    dates = pa.array([d.isoformat() for d in days for _ in range(2)])
    lake.replace_days(pa.table({"event_id": list(range(6))}), tmp_path, [*days, date(2015, 9, 15)], dates)
    newest = lake.read_events(tmp_path, newest_days=2)  # the empty 15th holds no events
    assert sorted(newest["date"].unique()) == ["2015-09-12", "2015-09-14"]
    assert sorted(newest["event_id"]) == [2, 3, 4, 5]
    assert len(lake.read_events(tmp_path)) == 6
    assert lake.read_events(tmp_path / "nothing-yet", newest_days=2).empty


def test_every_kind_of_bad_row_is_quarantined_with_its_reason(shop, kaizen_db, tmp_path):
    report = ingest_days(settings_for(shop, kaizen_db, tmp_path), [DAY1, DAY2], "run-1", now=NOW)

    expected = [rule for rule, *_ in BAD_ROWS] + ["session_too_long"] * len(TOO_LONG)
    assert len(set(expected)) >= 12
    bad = quarantine(kaizen_db)
    assert sorted(bad["rule"]) == sorted(expected)
    assert set(bad["run_id"]) == {"run-1"}
    by_session = bad.groupby("rule")["item_id"].apply(list).to_dict()
    assert by_session["unknown_item"] == ["zzz"]
    assert by_session["malformed_item_id"] == ["a;drop table"]

    assert report.rows_read == len(BAD_ROWS) + len(GOOD_ROWS) + len(TOO_LONG)
    assert report.rows_written == len(GOOD_ROWS)
    assert report.rows_quarantined == len(expected)
    assert report.quarantined_by_rule["session_too_long"] == len(TOO_LONG)
    assert [row[1] for row in lake_rows(tmp_path)] == sorted(r[0] for r in GOOD_ROWS)
    assert report.partitions == [DAY1.isoformat(), DAY2.isoformat()]


def test_a_run_past_the_bad_row_rate_fails_clearly_and_keeps_everything(shop, kaizen_db, tmp_path):
    settings = settings_for(shop, kaizen_db, tmp_path, KAIZEN_INGEST_MAX_BAD_RATE="0.1")
    with pytest.raises(DataQualityError, match=r"table ingest_quarantine, with run id run-2"):
        ingest_days(settings, [DAY1, DAY2], "run-2", now=NOW)
    assert len(quarantine(kaizen_db)) + len(lake_rows(tmp_path)) == len(BAD_ROWS) + len(GOOD_ROWS) + len(TOO_LONG)


def test_the_same_interval_twice_gives_the_same_rows(shop, kaizen_db, tmp_path):
    settings = settings_for(shop, kaizen_db, tmp_path)
    first = ingest_days(settings, [DAY1, DAY2], "run-a", now=NOW)
    rows, bad = lake_rows(tmp_path), quarantine(kaizen_db)
    second = ingest_days(settings, [DAY1, DAY2], "run-b", now=NOW)
    assert lake_rows(tmp_path) == rows
    assert quarantine(kaizen_db)["event_id"].tolist() == bad["event_id"].tolist()
    assert (first.rows_written, first.rows_quarantined) == (second.rows_written, second.rows_quarantined)


def test_late_events_inside_the_margin_reach_their_day(fresh_db, kaizen_db, tmp_path):
    migrate(fresh_db)
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO products (item_id) VALUES ('a'), ('b')")
    conn.close()
    settings = settings_for(
        fresh_db, kaizen_db, tmp_path, KAIZEN_INGEST_LATENESS_HOURS="24", KAIZEN_SHOP_OPENED="2015-09-01"
    )
    insert(fresh_db, [("s1", "v1", "a", "view", at(DAY1, 9))])
    ingest_interval(settings, at(DAY1, 0), at(DAY2, 0), "day-1")
    # Recorded after day 1's run: one event of day 1 (inside the 24 h margin) and one of
    # the day before (outside it: day 2's run finds it because that day's count changed).
    insert(
        fresh_db, [("s1", "v1", "b", "view", at(DAY1, 23)), ("s0", "v0", "a", "view", at(DAY1 - timedelta(days=1), 12))]
    )
    report = ingest_interval(settings, at(DAY2, 0), at(DAY2 + timedelta(days=1), 0), "day-2")
    assert (report.first_day, report.days_reingested, report.late_events) == ("2015-09-10", ["2015-09-10"], 1)
    assert sorted((r[4], r[2]) for r in lake_rows(tmp_path)) == [
        ("2015-09-10", "a"),
        ("2015-09-11", "a"),
        ("2015-09-11", "b"),
    ]


def test_days_for_interval_covers_the_lateness_margin():
    days = days_for_interval(at(DAY2, 0), at(DAY2 + timedelta(days=1), 0), timedelta(hours=48))
    assert days == [DAY2 - timedelta(days=2), DAY2 - timedelta(days=1), DAY2]


def test_retailrocket_week_ingests_whole_with_duplicates_quarantined(fresh_db, kaizen_db, tmp_path):
    loaders.load(fresh_db, "retailrocket", RETAILROCKET)
    report = ingest_everything(
        settings_for(fresh_db, kaizen_db, tmp_path, KAIZEN_SHOP_OPENED="2015-01-01", KAIZEN_MAX_SESSION_EVENTS="1000"),
        "rr",
    )
    assert report.rows_read == 38_741
    assert report.rows_written + report.rows_quarantined == 38_741
    assert set(report.quarantined_by_rule) == {"duplicate_event"}  # the file logs some events twice
    assert report.partitions == [f"2015-09-{d}" for d in range(11, 19)]
    # The catalogue snapshot is dated by when it was read, not by the events' days.
    snapshots = [p.parent.name for p in (tmp_path / "lake" / "catalog").glob("*/products.parquet")]
    assert snapshots == [f"date={datetime.now(UTC).date().isoformat()}"]


def test_text_with_control_characters_or_bytes_that_are_not_utf8_is_quarantined_as_malformed(
    new_database, kaizen_db, tmp_path
):
    # A SQL_ASCII database stores any bytes, as shops on legacy encodings do.
    url = new_database("ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    migrate(url)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO products (item_id) VALUES ('a')")
        cur.execute(
            "INSERT INTO events (session_id, visitor_id, item_id, event_type, occurred_at) VALUES "
            "('s1', 'v1', 'a', 'view', %(t)s), "
            "('s2', E'line\\nbreak', 'a', 'view', %(t)s), "
            "('s3', 'v3', 'a', E'view\\t', %(t)s), "
            "('s4', E'caf\\xe9', 'a', 'view', %(t)s), "  # Latin-1, not UTF-8
            "(E'tab\\tbed', 'v5', 'a', 'view', %(t)s)",
            {"t": at(DAY1, 9)},
        )
    conn.close()
    report = ingest_days(settings_for(url, kaizen_db, tmp_path), [DAY1], "run-text", now=NOW)
    assert report.quarantined_by_rule == {"malformed_text": 3, "malformed_session_id": 1}
    assert report.rows_read == report.rows_written + report.rows_quarantined == 5
    bad = quarantine(kaizen_db).set_index("session_id")
    assert bad.loc["s4", "visitor_id"] == "caf\ufffd"  # kept, with the bad byte marked
    assert bad.loc["s2", "visitor_id"] == "line\nbreak"
    assert bad.loc["tab\tbed", "rule"] == "malformed_session_id"


def test_a_nul_character_is_malformed_text_and_kept_in_quarantine(kaizen_db):
    """PostgreSQL's text cannot hold NUL, so no shop table yields one; a mapped query over
    bytes could. Validation quarantines it, and the quarantine stores it as U+FFFD."""
    from kaizen import database
    from kaizen.ingest import quarantine as quarantine_table
    from kaizen.ingest.validation import STRING, TIMESTAMP, Rules, validate

    events = pd.DataFrame(
        {
            "event_id": [1, 2],
            "session_id": pd.array(["s1", "s2"], dtype=STRING),
            "visitor_id": pd.array(["v1", "v\x002"], dtype=STRING),
            "item_id": pd.array(["a", "a"], dtype=STRING),
            "event_type": pd.array(["view", "view"], dtype=STRING),
            "occurred_at": pd.array([pd.Timestamp(at(DAY1, 9))] * 2, dtype=TIMESTAMP),
        }
    )
    rules = Rules(pa.array(["a"]), pd.Timestamp(NOW), pd.Timestamp(at(DAY1, 0)), 10)
    checked = validate(events, rules)
    assert checked.quarantined["rule"].tolist() == ["malformed_text"]
    database.migrate(kaizen_db)
    with psycopg2.connect(kaizen_db) as conn, conn.cursor() as cur:
        quarantine_table.replace(cur, [DAY1], checked.quarantined.assign(partition_date=DAY1), "run-nul")
    conn.close()
    assert quarantine(kaizen_db)[["visitor_id", "rule"]].values.tolist() == [["v\ufffd2", "malformed_text"]]


def test_events_later_than_the_margin_are_counted_and_ingested_into_their_day(fresh_db, kaizen_db, tmp_path):
    migrate(fresh_db)
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO products (item_id) VALUES ('a'), ('b')")
    conn.close()
    settings = settings_for(fresh_db, kaizen_db, tmp_path, KAIZEN_INGEST_LATENESS_HOURS="0")
    insert(fresh_db, [("s1", "v1", "a", "view", at(DAY1, 9))])
    first = ingest_interval(settings, at(DAY1, 0), at(DAY2, 0), "day-1")
    assert (first.late_events, first.days_reingested) == (0, [])
    # Recorded after day 1's run, and day 2's run does not cover day 1 (no lateness margin).
    insert(fresh_db, [("s1", "v1", "b", "view", at(DAY1, 23)), ("s2", "v2", "a", "view", at(DAY2, 8))])
    report = ingest_interval(settings, at(DAY2, 0), at(DAY2 + timedelta(days=1), 0), "day-2")
    assert (report.late_events, report.days_reingested) == (1, [DAY1.isoformat()])
    assert report.rows_read == report.rows_written + report.rows_quarantined == 3
    assert [(r[2], r[4]) for r in lake_rows(tmp_path)] == [
        ("a", "2015-09-11"),
        ("b", "2015-09-11"),
        ("a", "2015-09-12"),
    ]
    # Nothing changed since: the next run finds no late events.
    again = ingest_interval(settings, at(DAY2, 0), at(DAY2 + timedelta(days=1), 0), "day-2-again")
    assert (again.late_events, again.days_reingested) == (0, [])
    with psycopg2.connect(kaizen_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT run_id, summary->>'late_events' FROM ingest_runs ORDER BY started_at")
        assert cur.fetchall() == [("day-1", "0"), ("day-2", "1"), ("day-2-again", "0")]
    conn.close()


def test_two_runs_started_at_once_take_turns(shop, kaizen_db, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    settings = settings_for(shop, kaizen_db, tmp_path)
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(ingest_days, settings, [DAY1, DAY2], run_id, NOW) for run_id in ("run-x", "run-y")]
        reports = [run.result(timeout=120) for run in runs]
    assert reports[0].rows_written == reports[1].rows_written == len(GOOD_ROWS)
    with psycopg2.connect(kaizen_db) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT finished_at FROM ingest_runs WHERE started_at = (SELECT min(started_at) FROM ingest_runs) "
            "UNION ALL SELECT max(started_at) FROM ingest_runs"
        )
        (first_end,), (second_start,) = cur.fetchall()
    conn.close()
    assert first_end <= second_start, "the second run started before the first ended"
    assert len(quarantine(kaizen_db)) == reports[1].rows_quarantined  # not twice


def test_backfilling_an_old_day_keeps_that_days_catalogue_snapshot(shop, kaizen_db, tmp_path):
    settings = settings_for(shop, kaizen_db, tmp_path)
    ingest_days(settings, [DAY1, DAY2], "run-1", now=NOW)
    with psycopg2.connect(shop) as conn, conn.cursor() as cur:
        cur.execute("UPDATE products SET category_id = '9' WHERE item_id = 'a'")
    conn.close()
    later = NOW + timedelta(days=3)
    ingest_days(settings, [DAY1], "backfill", now=later)

    def category_of_a(day: date) -> str:
        frame = pd.read_parquet(tmp_path / "lake" / "catalog" / f"date={day.isoformat()}" / "products.parquet")
        return frame.set_index("item_id").loc["a", "category_id"]

    assert category_of_a(DAY2) == "1"  # as it was read that day
    assert category_of_a(later.date()) == "9"
