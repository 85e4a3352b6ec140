"""One monitoring run: online quality, drift, alerts and the retraining verdict.

1. The last ``KAIZEN_MONITOR_LOOKBACK_DAYS`` of the prediction log are judged against the
   lake's newest days (``online_quality``) and stored per model version and day.
2. The served version (the one that answered most on the newest day) is compared with its
   own history: a relative fall of online HR@20 past ``KAIZEN_MONITOR_MAX_QUALITY_DROP`` is a
   quality drop.
3. The lake's days after its training data are compared with the last days of that data
   (``drift``), and what it recommends now with what it recommended on its first day.
4. Alerts for drift, a quality drop and answers served without fresh features; a drift or a
   quality drop asks for retraining, which ``retraining`` emits or holds back.
5. The served version's MLflow run gets the day's online metrics and an HTML report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
from mlflow import MlflowClient

from kaizen import alerts, database, lake
from kaizen.config import Settings
from kaizen.monitoring import drift, online_quality, report, retraining, store
from kaizen.monitoring.retraining import RetrainDecision
from kaizen.training.tracking import WINDOW_TAG

log = logging.getLogger(__name__)


@dataclass
class Verdict:
    served_version: str | None = None
    newest_day: str | None = None
    checks: list[drift.DriftCheck] = field(default_factory=list)
    reference_days: str = ""
    current_days: str = ""
    quality_drop: float | None = None  # relative fall of online HR@20, when judged
    fallback_share: float | None = None
    notes: list[str] = field(default_factory=list)  # why a check could not be made

    @property
    def drifted(self) -> list[drift.DriftCheck]:
        return [check for check in self.checks if check.drifted]

    def retrain_reason(self, settings: Settings) -> str:
        reasons = []
        if self.drifted:
            reasons.append("drift: " + ", ".join(check.describe() for check in self.drifted))
        if self.quality_drop is not None and self.quality_drop > settings.monitor_max_quality_drop:
            reasons.append(
                f"online HR@20 of v{self.served_version} fell {self.quality_drop:.0%} "
                f"(> {settings.monitor_max_quality_drop:.0%}) on {self.newest_day}"
            )
        return "; ".join(reasons)


def monitor(settings: Settings, monitor_run: str, now: datetime | None = None) -> dict:
    """Measure, judge, alert and decide; the summary the DAG's task returns."""
    now = now or datetime.now(UTC)
    database.migrate(settings.kaizen_db_url, settings.serving_db_role, settings.dashboard_db_role)
    answers = store.read_answers(settings.kaizen_db_url, now - timedelta(days=settings.monitor_lookback_days))
    newest_days = settings.monitor_lookback_days + 1
    events = lake.read_events(settings.lake_dir, online_quality.EVENT_COLUMNS, newest_days=newest_days)
    measured = online_quality.measure(answers, events)
    store.write_quality(settings.kaizen_db_url, measured.per_day, monitor_run)
    history = store.read_quality(settings.kaizen_db_url, settings.model_name)
    log.info(
        "judged %d of %d logged answers (%d not joined with a session in the lake yet)",
        measured.answers - measured.unmatched,
        measured.answers,
        measured.unmatched,
    )

    verdict = judge(settings, measured, history, events)
    store.write_drift(settings.kaizen_db_url, verdict.checks, monitor_run, verdict.reference_days, verdict.current_days)
    alert(settings, verdict)
    decision = None
    if reason := verdict.retrain_reason(settings):
        decision = retraining.request(
            settings.kaizen_db_url,
            reason,
            monitor_run,
            timedelta(hours=settings.retrain_cooldown_h),
            settings.retrain_daily_cap,
            now,
        )
        outcome = "requested" if decision.emitted else "held back"
        log.warning("retraining %s: %s", outcome, decision.held_back_by or reason)
    if verdict.served_version:
        report.log_to_mlflow(settings, verdict, history, decision)
    return summary(measured, verdict, decision)


def judge(settings: Settings, measured: online_quality.Measured, history: pd.DataFrame, events) -> Verdict:
    verdict = Verdict()
    served = measured.judged
    if served.empty:
        verdict.notes.append("no logged answer could be joined with the lake's sessions yet")
        return verdict
    verdict.newest_day = served["day"].max()
    newest = served[served["day"] == verdict.newest_day]
    verdict.served_version = str(newest["model_version"].value_counts().index[0])
    verdict.fallback_share = float(newest["degraded"].mean())

    mine = history[history["model_version"] == verdict.served_version]
    today, before = mine[mine["day"] == verdict.newest_day], mine[mine["day"] < verdict.newest_day]
    before = before[before["judged"] >= settings.monitor_min_answers]
    if today.empty or today["judged"].iloc[0] < settings.monitor_min_answers or before.empty:
        verdict.notes.append(
            f"quality: v{verdict.served_version} needs {settings.monitor_min_answers} judged answers on "
            f"{verdict.newest_day} and on an earlier day"
        )
    else:
        baseline = (before["hr_at_20"] * before["judged"]).sum() / before["judged"].sum()
        if baseline > 0:
            verdict.quality_drop = float(1 - today["hr_at_20"].iloc[0] / baseline)

    window = training_window(settings, verdict.served_version)
    if window is None:
        verdict.notes.append(f"drift: v{verdict.served_version}'s training window is not recorded")
        return verdict
    days = events["occurred_at"].dt.floor("D")
    trained_until = window.floor("D")
    after = sorted(days[days > trained_until].unique())[-settings.drift_current_days :]
    if not after:
        verdict.notes.append(f"drift: no traffic after v{verdict.served_version}'s training data yet")
        return verdict
    reference_from = trained_until - pd.Timedelta(days=settings.drift_reference_days - 1)
    between = (reference_from.date(), trained_until.date())
    reference = lake.read_events(settings.lake_dir, online_quality.EVENT_COLUMNS, between=between)
    current = events[days.isin(after)]
    verdict.reference_days = f"{reference_from:%Y-%m-%d}..{trained_until:%Y-%m-%d}"
    verdict.current_days = f"{after[0]:%Y-%m-%d}..{after[-1]:%Y-%m-%d}"
    limits = drift.thresholds(settings)
    catalogue = lake.latest_catalog(settings.lake_dir)
    verdict.checks = drift.data_drift(reference, current, catalogue, limits)
    first_day = served.loc[served["model_version"] == verdict.served_version, "day"].min()
    if first_day < verdict.newest_day:
        versions = served[served["model_version"] == verdict.served_version]
        verdict.checks += drift.prediction_drift(
            versions.loc[versions["day"] == first_day, "recommended"],
            versions.loc[versions["day"] == verdict.newest_day, "recommended"],
            limits,
        )
    if not verdict.checks:
        verdict.notes.append(f"drift: fewer than {drift.MIN_VIEWS} views to compare")
    return verdict


def training_window(settings: Settings, version: str) -> pd.Timestamp | None:
    """The end of the data ``version`` was trained on: its test window's start (the run's
    ``kaizen.window.test_start`` tag); the test days were held out, not learnt from."""
    client = MlflowClient(settings.mlflow_tracking_uri)
    run_id = client.get_model_version(settings.model_name, version).run_id
    end = client.get_run(run_id).data.tags.get(f"{WINDOW_TAG}test_start")
    return pd.Timestamp(end) if end else None


def alert(settings: Settings, verdict: Verdict) -> None:
    where = f"v{verdict.served_version}, {verdict.current_days or verdict.newest_day}"
    if verdict.drifted:
        alerts.send(
            "drift",
            f"{where} against {verdict.reference_days}: " + ", ".join(c.describe() for c in verdict.drifted),
            {"checks": [c.__dict__ | {"drifted": c.drifted} for c in verdict.checks]},
        )
    if verdict.quality_drop is not None and verdict.quality_drop > settings.monitor_max_quality_drop:
        alerts.send(
            "quality_drop",
            f"online HR@20 of v{verdict.served_version} fell {verdict.quality_drop:.0%} on {verdict.newest_day}",
            {"version": verdict.served_version, "day": verdict.newest_day, "drop": verdict.quality_drop},
        )
    if verdict.fallback_share is not None and verdict.fallback_share > settings.monitor_max_fallback_share:
        alerts.send(
            "feature_fallbacks",
            f"{verdict.fallback_share:.1%} of {verdict.newest_day}'s answers were served stale or without online "
            f"features (> {settings.monitor_max_fallback_share:.0%}): is the feature server healthy?",
            {"share": verdict.fallback_share, "day": verdict.newest_day},
        )


def summary(measured: online_quality.Measured, verdict: Verdict, decision: RetrainDecision | None) -> dict:
    newest = measured.per_day[measured.per_day["day"] == verdict.newest_day]
    return {
        "answers": measured.answers,
        "unmatched": measured.unmatched,
        "served_version": verdict.served_version,
        "newest_day": verdict.newest_day,
        "online": newest.drop(columns=["model_name"]).to_dict("records"),
        "quality_drop": verdict.quality_drop,
        "drift": {c.statistic: {"value": round(c.value, 4), "threshold": c.threshold} for c in verdict.checks},
        "drifted": [c.statistic for c in verdict.drifted],
        "reference_days": verdict.reference_days,
        "current_days": verdict.current_days,
        "notes": verdict.notes,
        "retrain": decision.as_dict() if decision else None,
    }
