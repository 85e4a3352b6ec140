"""When monitoring may start training by itself: behind a cooldown and a daily cap.

A retraining that does not cure what started it (drift the new window still shows, a quality
drop the data explains) would otherwise start again on every monitoring run. Every request is
recorded in ``retrain_requests``, emitted or held back with the rule that held it, and the
rules are read from that record under an advisory lock, so two monitoring runs at once
cannot both pass them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg2

LOCK = "kaizen.monitoring.retraining"


@dataclass(frozen=True)
class RetrainDecision:
    reason: str
    emitted: bool
    held_back_by: str | None = None

    def as_dict(self) -> dict:
        return {"reason": self.reason, "emitted": self.emitted, "held_back_by": self.held_back_by}


def request(url: str, reason: str, monitor_run: str, cooldown: timedelta, daily_cap: int, now: datetime):
    """Record a retraining request for ``reason``; emitted unless the cooldown or cap holds it back."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (LOCK,))
            cur.execute(
                "SELECT max(requested_at), count(*) FROM retrain_requests WHERE emitted AND requested_at > %s",
                (now - timedelta(days=1),),
            )
            last, today = cur.fetchone()
            held = None
            if last is not None and now - last < cooldown:
                held = f"cooldown: the last self-started retraining was at {last:%Y-%m-%d %H:%M} UTC"
            elif today >= daily_cap:
                held = f"daily cap: {today} self-started retrainings in the last 24 hours"
            cur.execute(
                "INSERT INTO retrain_requests (requested_at, monitor_run, reason, emitted, held_back_by) "
                "VALUES (%s, %s, %s, %s, %s)",
                (now, monitor_run, reason, held is None, held),
            )
    finally:
        conn.close()
    return RetrainDecision(reason, held is None, held)
