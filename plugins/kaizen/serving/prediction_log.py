"""Log every prediction to PostgreSQL without slowing the request path.

Requests append to an in-memory queue; a background thread writes batches once a
second. When the database is unreachable the batch is dropped and counted (logged as a
warning): serving never waits on, or fails because of, its own logging.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import astuple, dataclass
from datetime import UTC, datetime

log = logging.getLogger(__name__)

INSERT = (
    "INSERT INTO prediction_log (requested_at, session_id, items, recommended, model_name, model_version, latency_ms) "
    "VALUES %s"
)


@dataclass(frozen=True)
class Prediction:
    requested_at: datetime
    session_id: str | None
    items: list[str]
    recommended: list[str]
    model_name: str
    model_version: str
    latency_ms: float


class PredictionLog:
    def __init__(self, db_url: str, max_queue: int = 100_000, flush_s: float = 1.0):
        self.db_url = db_url
        self.queue: queue.Queue[Prediction] = queue.Queue(maxsize=max_queue)
        self.flush_s = flush_s
        self.dropped = 0
        threading.Thread(target=self._run, name="prediction-log", daemon=True).start()

    def record(self, session_id, items, recommended, model_name, model_version, latency_ms) -> None:
        entry = Prediction(
            datetime.now(UTC),
            session_id,
            list(items),
            list(recommended),
            model_name,
            model_version,
            round(latency_ms, 3),
        )
        try:
            self.queue.put_nowait(entry)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        import psycopg2
        from psycopg2.extras import execute_values

        conn = None
        while True:
            time.sleep(self.flush_s)
            batch = []
            while not self.queue.empty() and len(batch) < 10_000:
                batch.append(astuple(self.queue.get_nowait()))
            if not batch:
                continue
            try:
                if conn is None or conn.closed:
                    conn = psycopg2.connect(self.db_url, connect_timeout=3)
                with conn, conn.cursor() as cur:
                    execute_values(cur, INSERT, batch)
            except psycopg2.Error as exc:
                self.dropped += len(batch)
                log.warning("prediction log unavailable, %d entries dropped so far: %s", self.dropped, exc)
                conn = None
