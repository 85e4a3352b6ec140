"""Helpers the benchmarks share: a throwaway database, medians of repeated timings."""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg2
from psycopg2 import sql

from kaizen.db_urls import with_database

ADMIN_URL = os.environ.get("KAIZEN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new database on ``KAIZEN_BENCH_DATABASE_URL`` (an admin URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(ADMIN_URL, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Sampler:
    """``measure()`` every ``every_s`` seconds in a thread while the ``with`` block runs: the
    samples with their time, and the peak. Subclasses say what is measured (memory, in MB)."""

    def __init__(self, every_s: float):
        self.every_s, self.samples = every_s, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=type(self).__name__, daemon=True)

    def measure(self) -> float:
        raise NotImplementedError

    @property
    def peak(self) -> float:
        return max((value for _, value in self.samples), default=0.0)

    def peak_between(self, start: datetime, end: datetime) -> float:
        return max((value for at, value in self.samples if start <= at <= end), default=0.0)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.every_s):
            self.samples.append((datetime.now(UTC), self.measure()))
