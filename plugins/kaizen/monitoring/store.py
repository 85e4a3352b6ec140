"""Monitoring's reads and writes in Kaizen's database (tables of migration 0004)."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import psycopg2
from psycopg2.extras import execute_values

from kaizen.monitoring.drift import DriftCheck
from kaizen.monitoring.online_quality import ANSWER_COLUMNS, METRICS

QUALITY_COLUMNS = ["model_name", "model_version", "day", "answers", "judged", *METRICS]


# The request's length and last item, not its whole history; the recommended list as JSON,
# which json.loads parses ~3x faster than psycopg2 parses a text[] (a million rows: 7 s, not 21).
ANSWERS_SQL = (
    "SELECT session_id, cardinality(items), items[cardinality(items)], array_to_json(recommended)::text, "
    "model_name, model_version, features FROM prediction_log WHERE requested_at >= %s"
)


def read_answers(url: str, since: datetime) -> pd.DataFrame:
    """The prediction log's answers since ``since`` (the model server's clock), as ``ANSWER_COLUMNS``."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor(name="answers") as cur:  # server-side: a million rows stream
            cur.itersize = 50_000
            cur.execute(ANSWERS_SQL, (since,))
            frame = pd.DataFrame(cur.fetchall(), columns=ANSWER_COLUMNS)
    finally:
        conn.close()
    frame["recommended"] = [json.loads(text) for text in frame["recommended"]]
    return frame


def write_quality(url: str, per_day: pd.DataFrame, monitor_run: str) -> None:
    """Upsert each (model, version, day): a later run with more of the day's events rewrites it."""
    if per_day.empty:
        return
    rows = [
        (*(None if pd.isna(v) else v for v in row), monitor_run)
        for row in per_day[QUALITY_COLUMNS].astype(object).itertuples(index=False, name=None)
    ]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*QUALITY_COLUMNS[3:], "monitor_run"])
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            execute_values(
                cur,
                f"INSERT INTO online_quality ({', '.join(QUALITY_COLUMNS)}, monitor_run) VALUES %s "
                f"ON CONFLICT (model_name, model_version, day) DO UPDATE SET {updates}, computed_at = now()",
                rows,
            )
    finally:
        conn.close()


def read_quality(url: str, model_name: str) -> pd.DataFrame:
    """Every recorded (version, day) of ``model_name``, oldest day first."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                f"SELECT {', '.join(QUALITY_COLUMNS)} FROM online_quality WHERE model_name = %s "
                "ORDER BY day, model_version",
                (model_name,),
            )
            frame = pd.DataFrame(cur.fetchall(), columns=QUALITY_COLUMNS)
    finally:
        conn.close()
    frame["day"] = frame["day"].astype(str)
    return frame


def write_drift(url: str, checks: list[DriftCheck], monitor_run: str, reference: str, current: str) -> None:
    if not checks:
        return
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            execute_values(
                cur,
                "INSERT INTO drift_checks (monitor_run, statistic, value, threshold, drifted, reference_days, "
                "current_days) VALUES %s ON CONFLICT (monitor_run, statistic) DO UPDATE SET value = EXCLUDED.value, "
                "threshold = EXCLUDED.threshold, drifted = EXCLUDED.drifted, checked_at = now()",
                [(monitor_run, c.statistic, c.value, c.threshold, c.drifted, reference, current) for c in checks],
            )
    finally:
        conn.close()
