"""Monitoring's logic on hand-built and generated data, against a real PostgreSQL where it
keeps state: online metrics, the drift detector's hits and false alarms, the retraining
cooldown, and alerts reaching a webhook."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest

from kaizen import alerts, database
from kaizen.config import Settings
from kaizen.dag_defaults import FailureAlert
from kaizen.monitoring import drift, online_quality, retraining, store
from kaizen.monitoring.drift import DriftCheck
from kaizen.monitoring.monitor import Verdict, alert
from kaizen.monitoring.replay import requests_of
from kaizen.shop.generator import ShopSpec, generate
from webhook_receiver import Receiver

DAY = pd.Timestamp("2026-01-05", tz="UTC")
REQUEST_COLUMNS = ["session_id", "items", "recommended", "model_name", "model_version", "features"]


def events_of(*sessions: tuple[str, list[tuple[str, str]]]) -> pd.DataFrame:
    rows = []
    for session_id, steps in sessions:
        for minute, (kind, item) in enumerate(steps):
            rows.append((session_id, item, kind, DAY + pd.Timedelta(hours=10, minutes=minute)))
    return pd.DataFrame(rows, columns=online_quality.EVENT_COLUMNS)


LAKE = events_of(
    ("s1", [("view", "a"), ("view", "b"), ("view", "c"), ("addtocart", "c"), ("view", "d"), ("transaction", "c")]),
    ("s2", [("view", "x"), ("view", "y")]),
    ("s3", [("view", "a")]),
)
LOG = online_quality.answers_from_requests(
    pd.DataFrame(
        [
            ("s1", ["a"], ["b", "z"], "m", "1", "online"),  # next b at rank 1; b viewed later
            ("s1", ["a", "b"], ["z", "c", "d"], "m", "1", "online"),  # next c at rank 2; c carted and bought later
            ("s1", ["a", "b", "c", "d"], ["q", "a"], "m", "1", "stale"),  # the session's last view: nothing next
            ("s2", ["x"], ["q", "r"], "m", "2", "fallback"),  # next y missed
            ("s2", ["not-x"], ["q"], "m", "2", "online"),  # not the session's first view: unmatched
            ("s9", ["a"], ["b"], "m", "1", "online"),  # session not in the lake: unmatched
            (None, ["a"], ["b"], "m", "1", "online"),  # no session id: unmatched
        ],
        columns=REQUEST_COLUMNS,
    )
)


def test_online_metrics_on_a_hand_built_log_match_the_hand_computation():
    measured = online_quality.measure(LOG, LAKE)
    assert (measured.answers, measured.unmatched) == (7, 3)
    rows = {row["model_version"]: row for row in measured.per_day.to_dict("records")}
    assert rows["1"] == pytest.approx(
        {
            "model_name": "m",
            "model_version": "1",
            "day": "2026-01-05",
            "answers": 3,
            "judged": 2,
            "hr_at_20": 1.0,  # both judged answers held the next item
            "mrr_at_20": (1 / 1 + 1 / 2) / 2,
            "ctr": 2 / 3,
            "cart_rate": 1 / 3,
            "purchase_rate": 1 / 3,  # the purchase of c came after the 4th view: not the third answer's
            "coverage": 6 / 6,  # b z c d q a of the day's six viewed items
            "popular_share": 1 / 7,  # a (viewed twice) is the day's top 10%; one of seven slots
            "fallback_share": 1 / 3,
        }
    )
    assert rows["2"] == pytest.approx(
        {
            "model_name": "m",
            "model_version": "2",
            "day": "2026-01-05",
            "answers": 1,
            "judged": 1,
            "hr_at_20": 0.0,
            "mrr_at_20": 0.0,
            "ctr": 0.0,
            "cart_rate": 0.0,
            "purchase_rate": 0.0,
            "coverage": 2 / 6,
            "popular_share": 0.0,
            "fallback_share": 1.0,
        }
    )


def test_replayed_requests_are_judged_by_the_rest_of_their_session():
    """What the drift scenario sends is what online_quality can join: every request matches."""
    asked = requests_of(LAKE)
    assert asked == [("s1", ["a"]), ("s1", ["a", "b"]), ("s1", ["a", "b", "c"]), ("s2", ["x"])]
    log = online_quality.answers_from_requests(
        pd.DataFrame([(sid, items, ["zz"], "m", "1", "online") for sid, items in asked], columns=REQUEST_COLUMNS)
    )
    measured = online_quality.measure(log, LAKE)
    assert measured.unmatched == 0 and measured.per_day["judged"].sum() == 4


def test_online_quality_is_stored_once_per_version_and_day(kaizen_db):
    database.migrate(kaizen_db)
    per_day = online_quality.measure(LOG, LAKE).per_day
    store.write_quality(kaizen_db, per_day, "run-1")
    store.write_quality(kaizen_db, per_day.assign(answers=per_day["answers"] + 1), "run-2")  # a re-run
    stored = store.read_quality(kaizen_db, "m")
    rows = stored[["model_version", "day", "answers"]].values.tolist()
    assert rows == [["1", "2026-01-05", 4], ["2", "2026-01-05", 2]]
    assert stored["hr_at_20"].tolist() == pytest.approx([1.0, 0.0])


def _windows(seed: int, drift_day: int | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Three reference days and the day after, of a generated 10-day shop with ~10k events a day."""
    catalogue, chunks = generate(ShopSpec(events=100_000, seed=seed, days=10, drift_day=drift_day))
    events = pd.concat(list(chunks))
    day = (events["occurred_at"] - pd.Timestamp("2026-01-01", tz="UTC")).dt.days
    return events[day.between(5, 7)], events[day == 8], catalogue.set_index("item_id")["category_id"]


def test_the_detector_fires_on_injected_drift_and_almost_never_on_stationary_data():
    limits = drift.thresholds(Settings.from_env({}))
    alarms = []
    for seed in range(20):
        reference, current, categories = _windows(seed, drift_day=None)
        checks = drift.data_drift(reference, current, categories, limits)
        assert len(checks) == 4
        alarms.append([c.describe() for c in checks if c.drifted])
    false_alarm_rate = sum(bool(a) for a in alarms) / len(alarms)
    assert false_alarm_rate <= 1 / 20, alarms

    for seed in range(3):
        reference, current, categories = _windows(seed, drift_day=8)  # a new category and new favourites
        drifted = {c.statistic for c in drift.data_drift(reference, current, categories, limits) if c.drifted}
        assert {"item_popularity", "category_mix", "new_items_share"} <= drifted


def test_too_little_traffic_gives_no_drift_verdict():
    reference, current, categories = _windows(0, drift_day=None)
    limits = drift.thresholds(Settings.from_env({}))
    assert drift.data_drift(reference, current.head(100), categories, limits) == []


def test_cooldown_and_daily_cap_hold_retraining_back(kaizen_db):
    database.migrate(kaizen_db)
    start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)

    def at(hours: float) -> retraining.RetrainDecision:
        return retraining.request(kaizen_db, "drift", "run", timedelta(hours=6), 2, start + timedelta(hours=hours))

    assert at(0).emitted
    held = at(1)
    assert not held.emitted and held.held_back_by.startswith("cooldown")
    assert at(7).emitted  # past the cooldown; the second of the day
    capped = at(14)
    assert not capped.emitted and capped.held_back_by.startswith("daily cap")
    assert at(25).emitted  # the first of the two has left the 24 hours
    assert [at(h).emitted for h in (26, 27, 28)] == [False, False, False]  # a loop is held back


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_every_kind_of_alert_reaches_the_webhook(receiver, monkeypatch):
    monkeypatch.setenv("KAIZEN_ALERT_WEBHOOK_URL", receiver.url)
    settings = Settings.from_env({})
    verdict = Verdict(
        served_version="4",
        newest_day="2026-01-09",
        checks=[DriftCheck("category_mix", 0.57, 0.15), DriftCheck("session_length", 0.01, 0.1)],
        reference_days="2026-01-05..2026-01-07",
        current_days="2026-01-08..2026-01-09",
        quality_drop=0.35,
        fallback_share=0.2,
    )
    alert(settings, verdict)
    ti = SimpleNamespace(dag_id="train_recommender", run_id="manual__1", task_id="train", try_number=2)
    FailureAlert().notify({"ti": ti, "exception": RuntimeError("MLflow answered 503")})
    alerts.send("rollback", "version 5 failed verification. Rolled back: @champion is version 4")
    assert receiver.kinds() == ["drift", "quality_drop", "feature_fallbacks", "failed_run", "rollback"]
    assert set(receiver.kinds()) == set(alerts.KINDS)
    drift_alert = receiver.bodies[0]
    assert drift_alert["text"].startswith("[kaizen] drift: v4") and "category_mix 0.570 > 0.15" in drift_alert["text"]
    assert "session_length" not in drift_alert["text"]  # only what drifted is named
    assert "fell 35%" in receiver.bodies[1]["text"]
    assert "MLflow answered 503" in receiver.bodies[3]["text"]


def test_an_alert_that_cannot_be_delivered_never_fails_its_caller(caplog):
    refusing = Receiver(status=500)
    try:
        assert alerts.send("drift", "x", url=refusing.url) is False
        assert len(refusing.bodies) == 4  # the first try and three retries
    finally:
        refusing.close()
    secret = "http://127.0.0.1:9/services/T000/B000/secret-token"  # nothing listens on port 9
    assert alerts.send("drift", "x", url=secret) is False
    assert "secret-token" not in caplog.text  # a webhook's URL is its password


def test_settings_without_a_webhook_only_log(caplog, monkeypatch):
    monkeypatch.delenv("KAIZEN_ALERT_WEBHOOK_URL", raising=False)
    assert alerts.send("quality_drop", "online HR@20 fell") is False
    assert "[kaizen] quality_drop: online HR@20 fell" in caplog.text


def test_a_verdict_asks_for_retraining_only_for_drift_or_a_quality_drop():
    settings = Settings.from_env({})
    calm = Verdict(served_version="1", checks=[DriftCheck("category_mix", 0.05, 0.15)], quality_drop=0.05)
    assert calm.retrain_reason(settings) == ""
    dropped = dataclasses.replace(calm, quality_drop=0.3, newest_day="2026-01-09")
    assert dropped.retrain_reason(settings) == "online HR@20 of v1 fell 30% (> 20%) on 2026-01-09"
