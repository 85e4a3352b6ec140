"""``kaizen shop check``: what an ingestion run would see, before it runs.

Connects with the configured login, checks the mapping against the database, and shows the
newest days as Kaizen would read them: rows per day and event type, a sample of mapped
rows, the rows that would be quarantined and why, and anything the login could change in
the shop's database (it should be SELECT only). The ingestion DAGs run the same check
first and fail fast with its report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd

from kaizen.config import Settings
from kaizen.db_urls import redact
from kaizen.errors import ConfigError
from kaizen.ingest import mapping
from kaizen.ingest.pipeline import extract, midnight, rules_for
from kaizen.ingest.source import ShopSource

log = logging.getLogger(__name__)

SAMPLE_ROWS = 5
SHOWN = ["event_id", "session_id", "visitor_id", "item_id", "event_type", "occurred_at"]


@dataclass
class ShopCheck:
    source: str  # the login's URL, password hidden
    mapping_path: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows_by_day: pd.DataFrame | None = None  # one row per day, a column per event type
    sample: pd.DataFrame | None = None
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    quarantine_sample: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        lines = [f"shop database  {self.source}", f"mapping        {self.mapping_path}", ""]
        lines += [f"FAIL  {p}" for p in self.problems]
        if self.ok:
            lines.append("ok    the mapping fits the database and the login can only read")
        lines += [f"note  {n}" for n in self.notes]

        def table(title: str, frame: pd.DataFrame | None) -> None:
            if frame is not None and len(frame):
                lines.extend(["", title, frame.to_string(index=False)])

        table("rows per day and event type (Kaizen's types; 'unmapped': values the mapping lacks)", self.rows_by_day)
        table("sample of mapped rows", self.sample)
        if self.rows_by_day is not None:
            verdict = ", ".join(f"{rule} {n}" for rule, n in self.quarantined_by_rule.items()) or "none"
            lines.extend(["", f"rows that would be quarantined: {verdict}"])
        table("some of them, with the rule they break", self.quarantine_sample)
        return "\n".join(lines)


def check_shop(settings: Settings, days: int = 7, now: datetime | None = None) -> ShopCheck:
    """Check the source as the next ingestion run would read it; ``days`` newest days are shown."""
    result = ShopCheck(redact(settings.shop_db_url), str(mapping.mapping_path(settings)))
    try:
        source = ShopSource(settings.shop_db_url, mapping.load(settings))
    except ConfigError as exc:
        result.problems.append(str(exc))
        return result
    writable = source.write_privileges()
    if writable:
        result.problems.append(
            f"the login can change the shop's database ({'; '.join(writable[:5])}"
            f"{'; ...' if len(writable) > 5 else ''}): give Kaizen a role with SELECT only"
        )
    undatable = source.undatable_rows()
    if undatable:
        result.problems.append(
            f"{undatable} events have neither an event time nor a recorded time, so no day can take them: "
            "map events.columns.recorded_at"
        )
    span = source.time_range()
    if span is None:
        result.notes.append("the shop has no events yet")
        return result
    last_day = span[1].astimezone(UTC).date()
    first_day = max(span[0].astimezone(UTC).date(), last_day - timedelta(days=days - 1))
    start, end = midnight(first_day), midnight(last_day + timedelta(days=1))
    _count_types(result, source, source.rows_by_day_and_type(start, end), settings.ingest_max_bad_rate)
    _preview(result, source, settings, first_day, last_day, now or datetime.now(UTC))
    return result


def _count_types(result: ShopCheck, source: ShopSource, counts: dict, max_bad_rate: float) -> None:
    type_of = source.mapping.events.type_of()
    frame = pd.DataFrame(
        [(day, type_of.get(raw, "unmapped"), raw, n) for (day, raw), n in counts.items()],
        columns=["day", "type", "raw", "rows"],
    )
    result.rows_by_day = (
        frame.pivot_table(index="day", columns="type", values="rows", aggfunc="sum", fill_value=0)
        .reset_index()
        .rename_axis(columns=None)
    )
    unmapped = frame[frame["type"] == "unmapped"].groupby("raw", dropna=False)["rows"].sum()
    if unmapped.empty:
        return
    share = unmapped.sum() / frame["rows"].sum()
    listed = ", ".join(f"{raw!r} ({n} rows)" for raw, n in unmapped.items())
    message = f"events.event_types: the shop's {listed} are not mapped ({share:.1%} of these days' rows)"
    if share > max_bad_rate:
        result.problems.append(f"{message}: map them, or they are quarantined as unknown_event_type")
    else:
        result.notes.append(f"{message}: they will be quarantined as unknown_event_type")


def _preview(result: ShopCheck, source: ShopSource, settings: Settings, first_day, last_day, now: datetime) -> None:
    catalog = source.read_catalog()
    checked = extract(source, first_day, last_day, rules_for(settings, catalog, now))
    result.sample = checked.good[SHOWN].head(SAMPLE_ROWS)
    result.quarantined_by_rule = checked.counts()
    if len(checked.quarantined):
        sample = checked.quarantined.groupby("rule", sort=False).head(1).head(SAMPLE_ROWS)
        result.quarantine_sample = sample[["rule", *SHOWN]]
    result.notes.append(f"{len(catalog)} items in the catalogue")


def require_ready(settings: Settings, days: int = 2) -> ShopCheck:
    """The check, logged; ConfigError with the whole report when a run could not go well."""
    result = check_shop(settings, days)
    if not result.ok:
        raise ConfigError("the shop's database is not ready for ingestion:\n" + result.render())
    log.info("the shop's database is ready for ingestion:\n%s", result.render())
    return result
