"""Log every prediction to PostgreSQL without slowing the request path.

A request formats its row as a line of ``COPY`` text (a few microseconds) and appends it to
an in-memory queue; a background thread sends what has queued once a second with one
``COPY``, which psycopg2 streams without Python work per row. (``execute_values`` built the
SQL in Python: tens of milliseconds a second with the GIL held, the model server's worst
latency stalls.) While the database is unreachable (a restart) the unsent batch is kept and
sent again, reconnecting, every second; rows keep queuing up to ``max_pending``, beyond
which new rows are dropped and counted (``kaizen_prediction_log_dropped_total``). Serving
never waits on, or fails because of, its own logging. A batch whose commit was cut off may
be sent twice: rows are logged at least once.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import time
from datetime import UTC, datetime

log = logging.getLogger(__name__)

COLUMNS = (
    "requested_at",
    "session_id",
    "items",
    "recommended",
    "model_name",
    "model_version",
    "latency_ms",
    "features",
)
COPY = f"COPY prediction_log ({', '.join(COLUMNS)}) FROM STDIN"
MAX_BATCH = 10_000
# COPY's text format: backslash escapes for its delimiters. PostgreSQL's text cannot hold NUL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\ufffd"})


def copy_field(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


def array_literal(values: list[str]) -> str:
    """A ``text[]`` literal: every element quoted, so commas, braces and spaces stay in it."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def copy_line(
    requested_at: datetime, session_id, items, recommended, model_name, model_version, latency_ms, features
) -> str:
    fields = (
        requested_at.isoformat(),
        copy_field(session_id),
        copy_field(array_literal(items)),
        copy_field(array_literal(recommended)),
        copy_field(model_name),
        copy_field(model_version),
        f"{latency_ms:.3f}",
        copy_field(features),
    )
    return "\t".join(fields) + "\n"


class PredictionLog:
    def __init__(self, db_url: str, max_pending: int = 100_000, flush_s: float = 1.0):
        self.db_url = db_url
        self.queue: queue.Queue[str] = queue.Queue(maxsize=max_pending)
        self.flush_s = flush_s
        self.dropped = 0  # rows that found the queue full, since the start
        self._reported = 0
        threading.Thread(target=self._run, name="prediction-log", daemon=True).start()

    def newly_dropped(self) -> int:
        """Rows dropped since the last call: for a counter metric, from the request path."""
        dropped, self._reported = self.dropped - self._reported, self.dropped
        return dropped

    def record(self, session_id, items, recommended, model_name, model_version, latency_ms, features) -> None:
        line = copy_line(
            datetime.now(UTC), session_id, items, recommended, model_name, model_version, latency_ms, features
        )
        try:
            self.queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        import psycopg2

        conn, batch, failing = None, [], ""
        while True:
            time.sleep(self.flush_s)
            while not self.queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self.queue.get_nowait())
            if not batch:
                continue
            try:
                if conn is None or conn.closed:
                    conn = psycopg2.connect(self.db_url, connect_timeout=3)
                with conn, conn.cursor() as cur:
                    cur.copy_expert(COPY, io.StringIO("".join(batch)))
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:  # unreachable: send again
                if str(exc) != failing:  # a change of state, not every second
                    log.warning("prediction log unavailable, keeping %d rows to send again: %s", len(batch), exc)
                failing, conn = str(exc), None
                continue
            except Exception:  # rows the database refuses: sending them again cannot help
                self.dropped += len(batch)
                log.exception("the prediction log refused %d rows; dropped", len(batch))
                batch, conn = [], None
                continue
            if failing:
                log.info("prediction log reachable again")
            batch, failing = [], ""
