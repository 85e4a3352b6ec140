"""One ingestion run: extract whole days from the shop, validate, write the lake and quarantine.

Incremental by event time with a lateness margin, not by an id watermark: a run for the
interval [start, end) rewrites every day from ``start - lateness`` to ``end``. Events that
arrive up to ``lateness`` late land in their own day's partition on a later run, and a day
is always a pure function of the source rows for it, so re-running any interval is
idempotent and backfills need no state. An id watermark would be cheaper per run but
would put late events in the wrong day and make re-runs depend on history.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kaizen import lake
from kaizen.config import Settings
from kaizen.errors import DataQualityError, UpstreamMissing
from kaizen.ingest import quarantine, source
from kaizen.ingest.validation import STRING, Rules, validate
from kaizen.shop.schema import migrate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    run_id: str
    first_day: str
    last_day: str
    rows_read: int
    rows_written: int
    rows_quarantined: int
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)

    @property
    def bad_rate(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "bad_rate": round(self.bad_rate, 6)}


def days_for_interval(start: datetime, end: datetime, lateness: timedelta) -> list[date]:
    """The whole UTC days a run for [start, end) rewrites, lateness margin included."""
    first = (start - lateness).astimezone(UTC).date()
    last_moment = (end - timedelta(microseconds=1)).astimezone(UTC)
    return [first + timedelta(days=i) for i in range((last_moment.date() - first).days + 1)]


def ingest_days(settings: Settings, days: list[date], run_id: str, now: datetime | None = None) -> IngestReport:
    """Ingest ``days`` (consecutive UTC days) and return what happened.

    Raises DataQualityError after writing, when the quarantined share exceeds
    ``settings.ingest_max_bad_rate``.
    """
    migrate(settings.shop_db_url, settings.serving_db_role)
    start = datetime.combine(days[0], time(), UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), UTC)
    table = source.read_events(settings.shop_db_url, start, end)
    catalog = source.read_catalog(settings.shop_db_url)
    events = table.to_pandas(types_mapper={pa.string(): STRING}.get)
    rules = Rules(
        known_items=frozenset(catalog["item_id"].dropna()),
        now=pd.Timestamp(now or datetime.now(UTC)),
        shop_opened=pd.Timestamp(settings.shop_opened),
        max_session_events=settings.max_session_events,
    )
    checked = validate(events, rules)

    good = pa.Table.from_pandas(checked.good, schema=source.SOURCE_SCHEMA, preserve_index=False)
    good_days = pc.cast(pc.cast(good["occurred_at"], pa.date32()), pa.string())
    lake.replace_days(good, settings.lake_dir, days, good_days)
    bad = checked.quarantined
    bad_days = bad["occurred_at"].fillna(bad["recorded_at"]).dt.date if len(bad) else pd.Series(dtype=object)
    quarantine.replace(settings.shop_db_url, days, bad.assign(partition_date=bad_days), run_id)
    lake.write_catalog(catalog, settings.lake_dir, days[-1])

    report = IngestReport(
        run_id=run_id,
        first_day=days[0].isoformat(),
        last_day=days[-1].isoformat(),
        rows_read=len(events),
        rows_written=good.num_rows,
        rows_quarantined=len(bad),
        quarantined_by_rule=checked.counts(),
        partitions=sorted(pc.unique(good_days).to_pylist()),
    )
    log.info(
        "ingested %s..%s: %d read, %d written, %d quarantined %s",
        report.first_day,
        report.last_day,
        report.rows_read,
        report.rows_written,
        report.rows_quarantined,
        report.quarantined_by_rule,
    )
    if report.bad_rate > settings.ingest_max_bad_rate:
        raise DataQualityError(
            f"{report.rows_quarantined} of {report.rows_read} rows ({report.bad_rate:.1%}) were quarantined, "
            f"more than KAIZEN_INGEST_MAX_BAD_RATE={settings.ingest_max_bad_rate:.1%}: {report.quarantined_by_rule}. "
            "They are in the shop database's ingest_quarantine table with run id " + run_id
        )
    return report


def ingest_interval(settings: Settings, start: datetime, end: datetime, run_id: str) -> IngestReport:
    """A scheduled run: the interval's days plus the lateness margin before it."""
    lateness = timedelta(hours=settings.ingest_lateness_hours)
    return ingest_days(settings, days_for_interval(start, end, lateness), run_id)


def ingest_everything(settings: Settings, run_id: str) -> IngestReport:
    """Every day the shop has events for (the thin end-to-end run's snapshot)."""
    span = source.time_range(settings.shop_db_url)
    if span is None:
        raise UpstreamMissing("the shop has no events: load some with `kaizen shop load`")
    first, last = span
    return ingest_days(settings, days_for_interval(first, last + timedelta(microseconds=1), timedelta(0)), run_id)
