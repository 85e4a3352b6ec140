"""The drift scenario: the whole loop, day by day, on a stack of its own.

A generated shop whose popularity shifts and which gains a category on ``drift_day`` is
loaded into the stack's (empty) demo shop. The first days are ingested and a first version is
trained, gated and deployed. Then, for each later day: that day's shoppers are replayed
against the model server (their answers go to the prediction log), the day is ingested, and
monitoring measures it. When monitoring's verdict emits a retraining, it runs there and then
(features refreshed, trained with the reason, gated, deployed if promoted), as
monitor_recommender's ``start_training`` would start train_recommender. Nightly retraining is
left out, so what retrains is visibly the loop. Simulated time: the monitor's clock is the
end of the day it measures, so cooldown and cap count simulated hours.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import psycopg2

from kaizen.config import Settings
from kaizen.errors import ConfigError
from kaizen.features.refresh import refresh
from kaizen.ingest.pipeline import ingest_days, source_for
from kaizen.models import DEFAULT_FAMILY
from kaizen.monitoring.monitor import monitor
from kaizen.monitoring.replay import replay
from kaizen.serving.rollout import deploy
from kaizen.shop.generator import ShopSpec, generate
from kaizen.shop.loaders import load_generated
from kaizen.training.options import TrainOptions
from kaizen.training.train import gate_candidate, train


@dataclass(frozen=True)
class ScenarioSpec:
    events: int = 300_000
    days: int = 14
    drift_day: int = 9
    first_served_day: int = 7  # days before it are the first version's history
    seed: int = 0
    test_days: float = 1.0  # each version is gated on its last day (and not trained on it)

    def shop(self) -> ShopSpec:
        return ShopSpec(events=self.events, seed=self.seed, days=self.days, drift_day=self.drift_day)


@dataclass
class Day:
    day: str
    drifted_day: bool
    served: str
    answers: int
    online_hr_at_20: float | None
    online_mrr_at_20: float | None
    drifted: list[str] = field(default_factory=list)
    retraining: str = ""  # "" | started: reason | held back: rule
    new_version: str = ""  # "v5 promoted" or "v5 refused"
    seconds: float = 0.0


def run(settings: Settings, spec: ScenarioSpec, say: Callable[[str], None] = print) -> list[Day]:
    """Run the scenario on ``settings``' stack (up, with an empty shop); the timeline."""
    if source_for(settings).time_range() is not None:
        raise ConfigError("the drift scenario needs a stack whose shop is empty: run it on a fresh KAIZEN_HOME")
    shop = spec.shop()
    say(f"loading a generated shop: {spec.events:,} events over {spec.days} days, drift from day {spec.drift_day}")
    load_generated(settings.demo_shop_db_url, shop)
    _, chunks = generate(shop)
    events = pd.concat(list(chunks), ignore_index=True)
    day_of = ((events["occurred_at"] - pd.Timestamp(shop.start)) // pd.Timedelta(days=1)).to_numpy()

    first_days = [_date(shop, d) for d in range(spec.first_served_day)]
    ingest_days(settings, first_days, "scenario-history")
    version, _ = _retrain(settings, spec, "first version", say)
    timeline = []
    for d in range(spec.first_served_day, spec.days):
        started = time.monotonic()
        today = events[day_of == d]
        logged = _logged(settings.kaizen_db_url)
        sent = replay(settings.model_server_url, today)
        _wait_logged(settings.kaizen_db_url, logged + sent)
        ingest_days(settings, [_date(shop, d)], f"scenario-day-{d}")
        end_of_day = datetime.combine(_date(shop, d) + timedelta(days=1), datetime.min.time(), UTC)
        found = monitor(settings, f"scenario-day-{d}", now=end_of_day)
        mine = [row for row in found["online"] if row["model_version"] == version and row["day"] == _iso(shop, d)]
        row = Day(
            day=_iso(shop, d),
            drifted_day=d >= spec.drift_day,
            served=version,
            answers=sent,
            online_hr_at_20=mine[0]["hr_at_20"] if mine else None,
            online_mrr_at_20=mine[0]["mrr_at_20"] if mine else None,
            drifted=found["drifted"],
        )
        decision = found["retrain"]
        if decision and decision["emitted"]:
            row.retraining = f"started: {decision['reason']}"
            trained, promoted = _retrain(settings, spec, decision["reason"], say)
            row.new_version = f"v{trained} {'promoted' if promoted else 'refused'}"
            version = trained if promoted else version
        elif decision:
            row.retraining = f"held back: {decision['held_back_by']}"
        row.seconds = round(time.monotonic() - started, 1)
        timeline.append(row)
        say(describe(row))
    return timeline


def _retrain(settings: Settings, spec: ScenarioSpec, reason: str, say: Callable[[str], None]) -> tuple[str, bool]:
    """Train on what the lake holds now and deploy if promoted: (the new version, promoted)."""
    refresh(settings)
    # The family of bench/results/monitoring.json's figures, not the validation window's choice.
    options = TrainOptions(model=DEFAULT_FAMILY, test_days=spec.test_days, trigger_reason=reason)
    result = gate_candidate(settings, options, train(settings, options))
    if result.decision.promote:
        deploy(settings)
        say(f"  v{result.version} promoted and deployed ({reason})")
    else:
        say(f"  v{result.version} refused: {result.decision.reason}")
    return result.version, result.decision.promote


def _logged(url: str) -> int:
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM prediction_log")
            return cur.fetchone()[0]
    finally:
        conn.close()


def _wait_logged(url: str, total: int, timeout_s: float = 60) -> None:
    """Until the prediction log holds ``total`` rows (it writes once a second)."""
    deadline = time.monotonic() + timeout_s
    while _logged(url) < total and time.monotonic() < deadline:
        time.sleep(0.5)


def describe(row: Day) -> str:
    quality = "-" if row.online_hr_at_20 is None else f"{row.online_hr_at_20:.3f}"
    parts = [f"{row.day}{' (drift)' if row.drifted_day else ''}", f"v{row.served}", f"HR@20 {quality}"]
    parts.append(f"drift: {', '.join(row.drifted) or 'none'}")
    if row.retraining:
        parts.append(f"retraining {row.retraining.split(':')[0]}")
    if row.new_version:
        parts.append(row.new_version)
    return " | ".join(parts)


def as_records(timeline: list[Day]) -> list[dict]:
    return [asdict(row) for row in timeline]


def _date(shop: ShopSpec, d: int) -> date:
    return (shop.start + timedelta(days=d)).date()


def _iso(shop: ShopSpec, d: int) -> str:
    return _date(shop, d).isoformat()
