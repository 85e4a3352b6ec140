"""Validate extracted shop events with pandera; split them into good rows and quarantine.

pandera rather than Great Expectations: it validates the pandas frame the pipeline
already holds, in-process, with named vectorised checks and a lazy mode that reports
every failing row with the check that failed, which is exactly what a quarantine needs;
Great Expectations would add a context, stores and ~100 MB for the same checks.

Every rule has a name; a row that breaks several is quarantined under the first in
``RULES`` order and lists all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from kaizen.ingest.mapping import EVENT_TYPES

ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
FUTURE_SKEW = pd.Timedelta(minutes=5)  # clocks of the shop's servers may run a little ahead
# Control characters (newline, tab, NUL, ...) and U+FFFD, which stands for bytes that were not
# UTF-8 (see decode_text). Ids are held to ID_PATTERN, which excludes them too.
MALFORMED_TEXT = "[\x00-\x1f\x7f\ufffd]"

# In priority order: a row is quarantined under the first rule it breaks.
RULES = (
    "null_session_id",
    "null_item_id",
    "null_event_type",
    "null_occurred_at",
    "malformed_text",
    "malformed_session_id",
    "malformed_item_id",
    "unknown_event_type",
    "future_timestamp",
    "before_shop_opened",
    "unknown_item",
    "duplicate_event",
    "session_visitor_conflict",
    "session_too_long",
)
NULL_RULES = {f"null_{c}": c for c in ("session_id", "item_id", "event_type", "occurred_at")}
# Arrow-backed strings: string checks run in Arrow's C++ kernels instead of per Python object.
STRING = pd.StringDtype("pyarrow")
TIMESTAMP = pd.DatetimeTZDtype(unit="us", tz="UTC")
DUPLICATE_KEY = ["session_id", "visitor_id", "item_id", "event_type", "occurred_at"]


@dataclass(frozen=True)
class Rules:
    """The data-dependent bounds of the checks."""

    known_items: pa_arrow.Array  # of strings: the catalogue's items
    now: pd.Timestamp
    shop_opened: pd.Timestamp
    max_session_events: int


@dataclass(frozen=True)
class Validated:
    good: pd.DataFrame
    quarantined: pd.DataFrame  # the bad rows plus ``rule`` and ``all_rules``

    def counts(self) -> dict[str, int]:
        return self.quarantined["rule"].value_counts().to_dict() if len(self.quarantined) else {}


def _valid_id(series: pd.Series) -> pd.Series:
    return series.str.match(ID_PATTERN)


def _is_in(series: pd.Series, values: pa_arrow.Array) -> pd.Series:
    """``series.isin(values)`` in Arrow's kernel, without turning ``values`` into Python objects."""
    found = pc.is_in(pa_arrow.array(series.array), value_set=values).to_numpy(zero_copy_only=False)
    return pd.Series(found, index=series.index)


def _clean_text(series: pd.Series) -> pd.Series:
    return ~series.str.contains(MALFORMED_TEXT, regex=True)


def decode_text(table: pa_arrow.Table) -> pa_arrow.Table:
    """``table`` with every string column valid UTF-8: invalid bytes become U+FFFD, which
    ``malformed_text`` quarantines. Only a column that fails the check is decoded value by
    value; valid columns (the usual case) pass untouched."""
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        if not pa_arrow.types.is_string(column.type):
            continue
        try:
            column.validate(full=True)
        except pa_arrow.ArrowInvalid:
            raw = column.cast(pa_arrow.binary()).to_pylist()
            fixed = [None if v is None else v.decode("utf-8", "replace") for v in raw]
            table = table.set_column(i, name, pa_arrow.array(fixed, pa_arrow.string()))
    return table


def event_schema(rules: Rules) -> pa.DataFrameSchema:
    """The checks, each named after the rule it enforces.

    Key columns are not nullable (pandera reports those as ``not_nullable``, mapped to
    ``null_<column>``); value checks skip nulls, so one null is blamed once.
    """

    def check(fn, name: str) -> pa.Check:
        return pa.Check(fn, name=name, error=name)

    def per_session(frame: pd.DataFrame, column: str, how: str) -> pd.Series:
        return frame.groupby("session_id", dropna=True)[column].transform(how)

    return pa.DataFrameSchema(
        {
            "event_id": pa.Column("int64"),
            "session_id": pa.Column(STRING, checks=[check(_valid_id, "malformed_session_id")]),
            "visitor_id": pa.Column(STRING, nullable=True, checks=[check(_clean_text, "malformed_text")]),
            "item_id": pa.Column(
                STRING,
                checks=[
                    check(_valid_id, "malformed_item_id"),
                    check(lambda s: _is_in(s, rules.known_items), "unknown_item"),
                ],
            ),
            "event_type": pa.Column(
                STRING,
                checks=[
                    check(_clean_text, "malformed_text"),
                    check(lambda s: s.isin(EVENT_TYPES), "unknown_event_type"),
                ],
            ),
            "occurred_at": pa.Column(
                TIMESTAMP,
                checks=[
                    check(lambda s: s <= rules.now + FUTURE_SKEW, "future_timestamp"),
                    check(lambda s: s >= rules.shop_opened, "before_shop_opened"),
                ],
            ),
        },
        checks=[
            check(lambda df: ~df.duplicated(DUPLICATE_KEY, keep="first"), "duplicate_event"),
            check(
                lambda df: df["session_id"].isna() | (per_session(df, "visitor_id", "nunique").fillna(0) <= 1),
                "session_visitor_conflict",
            ),
            check(
                lambda df: (
                    df["session_id"].isna()
                    | (per_session(df, "event_id", "size").fillna(0) <= rules.max_session_events)
                ),
                "session_too_long",
            ),
        ],
    )


def validate(events: pd.DataFrame, rules: Rules) -> Validated:
    """Split ``events`` (unique index; strings as ``STRING``, times as ``TIMESTAMP``) into
    rows that pass every rule and quarantined rows."""
    try:
        event_schema(rules).validate(events, lazy=True)
        return Validated(events, _quarantine_frame(events.iloc[0:0], {}))
    except pa.errors.SchemaErrors as errors:
        failures = _rules_by_row(errors.failure_cases)
    bad = events.index.isin(list(failures))
    return Validated(events[~bad], _quarantine_frame(events[bad], failures))


def _rules_by_row(failure_cases: pd.DataFrame) -> dict[int, list[str]]:
    if failure_cases["index"].isna().any():
        # A failure of the frame itself (a missing column, a wrong dtype), not of rows.
        whole = failure_cases[failure_cases["index"].isna()]
        raise ValueError(f"extracted events do not fit the schema: {whole[['column', 'check']].to_dict('records')}")
    cases = failure_cases
    names = cases["check"].astype(str)
    # pandera names its own nullability check; map it back to our rule for that column.
    null_rule = {column: rule for rule, column in NULL_RULES.items()}
    names = names.where(names != "not_nullable", cases["column"].map(null_rule))
    unexpected = set(names.dropna()) - set(RULES)
    if unexpected:
        raise ValueError(f"schema failures outside the quarantine rules: {sorted(unexpected)}")
    by_row: dict[int, set[str]] = {}
    for index, rule in zip(cases["index"].astype("int64"), names, strict=True):
        by_row.setdefault(index, set()).add(rule)
    return {index: sorted(found, key=RULES.index) for index, found in by_row.items()}


def _quarantine_frame(bad: pd.DataFrame, failures: dict[int, list[str]]) -> pd.DataFrame:
    out = bad.copy()
    out["all_rules"] = [failures[i] for i in bad.index]
    out["rule"] = [rules[0] for rules in out["all_rules"]]
    return out
