"""One ingestion run: extract whole days from the shop, validate, write the lake and quarantine.

Incremental by event time with a lateness margin, not by an id watermark: a run for the
interval [start, end) rewrites every day from ``start - lateness`` to ``end``. Events that
arrive up to ``lateness`` late land in their own day's partition on a later run, and a day
is always a pure function of the source rows for it, so re-running any interval is
idempotent and backfills need no state. Events later than that are not lost either: each
run counts the source's rows of the ``reconcile_days`` before its window, and a day whose
count differs from what its partition was built from (``kaizen.ingest.ledger``) is
ingested again; the summary says how many events arrived late.

Days are extracted and validated a chunk at a time (consecutive days, about
``ingest_chunk_events`` rows), so memory stays flat however many events a run covers; the
per-session rules (duplicates, a session with two visitors, a bot-length session) look at
one chunk at a time. Kaizen's own tables go to Kaizen's database: the shop is only read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kaizen import database, lake
from kaizen.config import Settings
from kaizen.errors import DataQualityError, UpstreamMissing
from kaizen.ingest import ledger, mapping
from kaizen.ingest.source import SOURCE_SCHEMA, ShopSource
from kaizen.ingest.validation import STRING, Rules, Validated, decode_text, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    run_id: str
    first_day: str
    last_day: str
    rows_read: int  # = rows_written + rows_quarantined
    rows_written: int
    rows_quarantined: int
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)
    late_events: int = 0  # arrived after the lateness margin; read again with their day
    days_reingested: list[str] = field(default_factory=list)

    @property
    def bad_rate(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def found_events(self) -> bool:
        """Whether the run read anything: if not, the lake is as it was and nothing downstream
        needs to run (a fresh install's first nightly run over a quiet day)."""
        return bool(self.rows_read or self.days_reingested)

    def as_dict(self) -> dict:
        return {**asdict(self), "bad_rate": round(self.bad_rate, 6)}


def days_for_interval(start: datetime, end: datetime, lateness: timedelta) -> list[date]:
    """The whole UTC days a run for [start, end) rewrites, lateness margin included."""
    first = (start - lateness).astimezone(UTC).date()
    last_moment = (end - timedelta(microseconds=1)).astimezone(UTC)
    return [first + timedelta(days=i) for i in range((last_moment.date() - first).days + 1)]


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def chunks(days: list[date], rows: dict[date, int], limit: int) -> list[list[date]]:
    """``days`` (sorted) in runs of consecutive days of at most ``limit`` rows each (a bigger
    day is a chunk of its own)."""
    out: list[list[date]] = []
    size = 0
    for day in days:
        n = rows.get(day, 0)
        if out and out[-1][-1] + timedelta(days=1) == day and size + n <= limit:
            out[-1].append(day)
            size += n
        else:
            out.append([day])
            size = n
    return out


def rules_for(settings: Settings, catalog: pd.DataFrame, now: datetime) -> Rules:
    """The validation bounds of a run that reads ``catalog`` at ``now``."""
    return Rules(
        known_items=pa.array(catalog["item_id"].dropna().unique(), pa.string()),
        now=pd.Timestamp(now),
        shop_opened=pd.Timestamp(settings.shop_opened),
        max_session_events=settings.max_session_events,
    )


def source_for(settings: Settings) -> ShopSource:
    """The shop, read through the configured mapping (checked against its database)."""
    return ShopSource(settings.shop_db_url, mapping.load(settings))


def read(source: ShopSource, first: date, last: date) -> pa.Table:
    """Days ``first..last`` as read, text decoded."""
    return decode_text(source.read_events(midnight(first), midnight(last + timedelta(days=1))))


def validate_table(table: pa.Table, rules: Rules) -> Validated:
    """Validate rows as :func:`read` returns them."""
    return validate(table.cast(SOURCE_SCHEMA).to_pandas(types_mapper={pa.string(): STRING}.get), rules)


def extract(source: ShopSource, first: date, last: date, rules: Rules) -> Validated:
    """Read days ``first..last`` and validate them."""
    return validate_table(read(source, first, last), rules)


def extracted(source: ShopSource, day_chunks: list[list[date]], rules: Rules) -> Iterator[tuple[list[date], Validated]]:
    """Each chunk of days, validated, in order. The next chunk is read while this one is
    validated: PostgreSQL's COPY and Arrow's parser run beside pandas on another core."""
    with ThreadPoolExecutor(1, thread_name_prefix="ingest-read") as pool:
        pending = pool.submit(read, source, day_chunks[0][0], day_chunks[0][-1]) if day_chunks else None
        for i, chunk in enumerate(day_chunks):
            table = pending.result()
            if i + 1 < len(day_chunks):
                pending = pool.submit(read, source, day_chunks[i + 1][0], day_chunks[i + 1][-1])
            yield chunk, validate_table(table, rules)


def _day_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's UTC day (midnight timestamps): its event time's, else its recorded time's."""
    return frame["occurred_at"].fillna(frame["recorded_at"]).dt.floor("D")


def ingest_days(settings: Settings, days: list[date], run_id: str, now: datetime | None = None) -> IngestReport:
    """Ingest ``days`` (consecutive UTC days), plus earlier days that changed since they were
    ingested, and return what happened.

    Raises DataQualityError after writing, when the quarantined share exceeds
    ``settings.ingest_max_bad_rate``.
    """
    source = source_for(settings)
    database.migrate(settings.kaizen_db_url, settings.serving_db_role, settings.dashboard_db_role)
    now = now or datetime.now(UTC)
    with ledger.exclusive_run(settings.kaizen_db_url, run_id, days[0], days[-1]) as run:
        report = _ingest_locked(settings, source, days, run, now)
        run.summary = report.as_dict()
    log.info(
        "ingested %s..%s: %d read, %d written, %d quarantined %s, %d late events (days %s read again)",
        report.first_day,
        report.last_day,
        report.rows_read,
        report.rows_written,
        report.rows_quarantined,
        report.quarantined_by_rule,
        report.late_events,
        report.days_reingested,
    )
    if report.bad_rate > settings.ingest_max_bad_rate:
        raise DataQualityError(
            f"{report.rows_quarantined} of {report.rows_read} rows ({report.bad_rate:.1%}) were quarantined, "
            f"more than KAIZEN_INGEST_MAX_BAD_RATE={settings.ingest_max_bad_rate:.1%}: {report.quarantined_by_rule}. "
            "They are in Kaizen's database, table ingest_quarantine, with run id " + run_id
        )
    return report


def _ingest_locked(
    settings: Settings, source: ShopSource, days: list[date], run: ledger.Run, now: datetime
) -> IngestReport:
    lookback = days[0] - timedelta(days=settings.ingest_reconcile_days)
    counted = source.rows_by_day(midnight(lookback), midnight(days[-1] + timedelta(days=1)))
    built_from = run.ingested(lookback, days[0] - timedelta(days=1))
    changed = sorted(day for day, rows in built_from.items() if counted.get(day, 0) != rows)
    late_events = sum(max(counted.get(day, 0) - built_from[day], 0) for day in changed)
    all_days = changed + days

    catalog = source.read_catalog()
    rules = rules_for(settings, catalog, now)
    writer = lake.DaysWriter(settings.lake_dir, all_days)
    read = written = 0
    rows_read: dict[date, int] = {}
    bad_frames, counts, partitions = [], {}, set()
    try:
        for chunk, checked in extracted(source, chunks(all_days, counted, settings.ingest_chunk_events), rules):
            good = pa.Table.from_pandas(checked.good, schema=SOURCE_SCHEMA, preserve_index=False)
            good_days = pc.cast(pc.cast(good["occurred_at"], pa.date32()), pa.string())
            writer.write(good, good_days)
            partitions.update(pc.unique(good_days).to_pylist())
            bad = checked.quarantined
            bad_frames.append(bad.assign(partition_date=_day_of(bad).dt.date))
            for day, n in pd.concat([_day_of(checked.good), _day_of(bad)]).value_counts().items():
                rows_read[day.date()] = rows_read.get(day.date(), 0) + int(n)
            for rule, n in checked.counts().items():
                counts[rule] = counts.get(rule, 0) + n
            read += len(checked.good) + len(bad)
            written += good.num_rows
            log.info("ingested %s..%s: %d rows so far", chunk[0], chunk[-1], read)
        writer.commit()
    except BaseException:
        writer.discard()
        raise
    bad = pd.concat(bad_frames, ignore_index=True)
    run.commit(all_days, rows_read, bad)
    # Dated by when it was read: a backfill of an old day must not pass today's catalogue off as that day's.
    lake.write_catalog(catalog, settings.lake_dir, now.astimezone(UTC).date())
    return IngestReport(
        run_id=run.run_id,
        first_day=all_days[0].isoformat(),
        last_day=all_days[-1].isoformat(),
        rows_read=read,
        rows_written=written,
        rows_quarantined=len(bad),
        quarantined_by_rule=counts,
        partitions=sorted(partitions),
        late_events=late_events,
        days_reingested=[d.isoformat() for d in changed],
    )


def ingest_interval(settings: Settings, start: datetime, end: datetime, run_id: str) -> IngestReport:
    """A scheduled run: the interval's days plus the lateness margin before it."""
    lateness = timedelta(hours=settings.ingest_lateness_hours)
    return ingest_days(settings, days_for_interval(start, end, lateness), run_id)


def ingest_everything(settings: Settings, run_id: str) -> IngestReport:
    """Every day the shop has events for (the thin end-to-end run's snapshot)."""
    span = source_for(settings).time_range()
    if span is None:
        raise UpstreamMissing("the shop has no events: load some with `kaizen shop load`")
    first, last = span
    return ingest_days(settings, days_for_interval(first, last + timedelta(microseconds=1), timedelta(0)), run_id)
