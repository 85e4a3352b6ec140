"""Log every prediction to PostgreSQL without slowing the request path.

A request formats its row as a line of ``COPY`` text (a few microseconds) and appends it to
an in-memory queue; a background thread sends what has queued once a second with one
``COPY``, which psycopg2 streams without Python work per row. (``execute_values`` built the
SQL in Python: tens of milliseconds a second with the GIL held, the model server's worst
latency stalls.) When the database is unreachable the batch is dropped and counted (logged
as a warning): serving never waits on, or fails because of, its own logging.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import time
from datetime import UTC, datetime

log = logging.getLogger(__name__)

COLUMNS = ("requested_at", "session_id", "items", "recommended", "model_name", "model_version", "latency_ms")
COPY = f"COPY prediction_log ({', '.join(COLUMNS)}) FROM STDIN"
MAX_BATCH = 10_000
# COPY's text format: backslash escapes for its delimiters. PostgreSQL's text cannot hold NUL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\ufffd"})


def copy_field(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


def array_literal(values: list[str]) -> str:
    """A ``text[]`` literal: every element quoted, so commas, braces and spaces stay in it."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def copy_line(requested_at: datetime, session_id, items, recommended, model_name, model_version, latency_ms) -> str:
    fields = (
        requested_at.isoformat(),
        copy_field(session_id),
        copy_field(array_literal(items)),
        copy_field(array_literal(recommended)),
        copy_field(model_name),
        copy_field(model_version),
        f"{latency_ms:.3f}",
    )
    return "\t".join(fields) + "\n"


class PredictionLog:
    def __init__(self, db_url: str, max_queue: int = 100_000, flush_s: float = 1.0):
        self.db_url = db_url
        self.queue: queue.Queue[str] = queue.Queue(maxsize=max_queue)
        self.flush_s = flush_s
        self.dropped = 0
        threading.Thread(target=self._run, name="prediction-log", daemon=True).start()

    def record(self, session_id, items, recommended, model_name, model_version, latency_ms) -> None:
        line = copy_line(datetime.now(UTC), session_id, items, recommended, model_name, model_version, latency_ms)
        try:
            self.queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        import psycopg2

        conn = None
        while True:
            time.sleep(self.flush_s)
            batch = []
            while not self.queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self.queue.get_nowait())
            if not batch:
                continue
            try:
                if conn is None or conn.closed:
                    conn = psycopg2.connect(self.db_url, connect_timeout=3)
                with conn, conn.cursor() as cur:
                    cur.copy_expert(COPY, io.StringIO("".join(batch)))
            except Exception as exc:  # the thread must outlive any batch, or every later answer goes unlogged
                self.dropped += len(batch)
                log.warning("prediction log unavailable, %d entries dropped so far: %s", self.dropped, exc)
                conn = None
