"""Every servable item's serve-time attributes (availability, category), held in memory.

A request must never wait on the network for them: under load the feature server missed
any per-request budget, and answers went out without the availability filter. So the
model server loads Feast's ``serving_v1`` feature service for every item of the served
model's vocabulary in bulk, through ``feast serve`` (seldon-core's pins keep the Feast SDK
out of this environment; Feast stays the single source of truth), and reloads it every
``KAIZEN_ITEM_REFRESH_S``.

One process of a model server loads (a file lock elects it: gunicorn's REST workers and
the gRPC worker would otherwise each read the whole catalogue) and writes the snapshot to a
private directory; its siblings pick it up when it changes. When the feature server or its
store fails, the last snapshot stays in use: answers keep their filters, its age is
exported, and past ``KAIZEN_ITEM_MAX_AGE_S`` answers say ``"features": "stale"`` and the
server reports itself not ready.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import requests

from kaizen.config import SERVING_FEATURE_SERVICE

log = logging.getLogger(__name__)

FETCH_CHUNK = 500  # items per feature-server request: the cheapest size for feast serve (bench/serving.py)
FETCH_TIMEOUT_S = 5.0  # per chunk; one takes ~20 ms, so this only catches a stuck feature server
# How long a worker, while it boots, waits for the first snapshot (its own or a sibling's)
# before taking requests: well inside gunicorn's boot timeout (seldon-core's 5 s).
BOOT_WAIT_S = 2.0
# Shared by a model server's processes: the items (rewritten only when they change, so the
# siblings parse them only then), when they were last loaded, the loader's last error.
ITEMS_FILE, LOADED_AT_FILE, ERROR_FILE, LOCK_FILE = "items.json", "loaded_at.txt", "error.txt", "loader.lock"

# What an answer's "features" field says about the filters it went through.
FRESH, STALE, MISSING = "online", "stale", "fallback"


class Item(NamedTuple):
    available: bool
    category: str | None


class FeatureSourceError(Exception):
    """The feature server did not answer, or not with the features asked for."""


@dataclass(frozen=True)
class Snapshot:
    items: dict[str, Item]
    loaded_at: float  # time.monotonic(): one clock for every process of the host, never set back

    def age_s(self) -> float:
        return max(0.0, time.monotonic() - self.loaded_at)


def fetch(url: str, item_ids: Sequence[str], http: requests.Session | None = None) -> dict[str, Item]:
    """``serving_v1`` of every item from feast serve, in chunks; raises FeatureSourceError."""
    http = http or requests.Session()
    endpoint = url.rstrip("/") + "/get-online-features"
    items: dict[str, Item] = {}
    for start in range(0, len(item_ids), FETCH_CHUNK):
        chunk = list(item_ids[start : start + FETCH_CHUNK])
        try:
            response = http.post(
                endpoint,
                json={"feature_service": SERVING_FEATURE_SERVICE, "entities": {"item_id": chunk}},
                timeout=FETCH_TIMEOUT_S,
            )
            response.raise_for_status()
            body = response.json()
            names = body["metadata"]["feature_names"]
            available = body["results"][names.index("available")]["values"]
            category = body["results"][names.index("category_id")]["values"]
            if not len(available) == len(category) == len(chunk):
                raise ValueError(f"asked for {len(chunk)} items, got {len(available)} values")
        except (requests.RequestException, ValueError, KeyError, IndexError, TypeError) as exc:
            raise FeatureSourceError(f"{endpoint}: {exc}") from exc
        # Unknown to the online store (NOT_FOUND, null): no reason to hide the item.
        items.update(
            (item, Item(a is not False, None if c is None else str(c)))
            for item, a, c in zip(chunk, available, category, strict=True)
        )
    return items


class ItemAttributes:
    """The current snapshot (``snapshot``), kept fresh by a background thread."""

    def __init__(self, url: str, refresh_s: float, max_age_s: float, share_dir: Path):
        self.url = url
        self.refresh_s = refresh_s
        self.max_age_s = max_age_s
        self.share_dir = Path(share_dir)
        self.snapshot: Snapshot | None = None
        self.last_error = ""
        self._http = requests.Session()
        self._lock_fd: int | None = None  # held by the loading process for its whole life
        self._seen_mtime = 0

    def start(self, vocabulary: Callable[[], Sequence[str] | None]) -> None:
        """Refresh in a thread of this process; ``vocabulary`` names the items to load (the
        served model's) or None while there is no model. Waits up to BOOT_WAIT_S for a first
        snapshot rather than answer the first requests unfiltered, and never raises: a
        worker must boot with the feature server down."""
        threading.Thread(target=self._run, args=(vocabulary,), name="item-attributes", daemon=True).start()
        deadline = time.monotonic() + BOOT_WAIT_S
        while self.snapshot is None and time.monotonic() < deadline:
            time.sleep(0.05)

    def _run(self, vocabulary) -> None:
        while True:
            try:
                self.refresh(vocabulary)
            except Exception:  # the thread must outlive any one failure, or the snapshot ages forever
                log.exception("refreshing item attributes failed")
            time.sleep(self.refresh_s if self._loads() else min(1.0, self.refresh_s))

    def refresh(self, vocabulary: Callable[[], Sequence[str] | None]) -> None:
        """Load from the feature server if this process is the loader, else read the loader's file."""
        if not self._elect():
            self._read_shared()
            return
        item_ids = vocabulary()
        if item_ids is None:
            return
        try:
            items = fetch(self.url, item_ids, self._http)
        except FeatureSourceError as exc:
            self._failed(str(exc))
            return
        if self.snapshot is not None and items == self.snapshot.items:
            items = self.snapshot.items  # unchanged: the siblings keep theirs too
        else:
            self._write_items(items)
        self.snapshot = Snapshot(items, time.monotonic())
        _replace(self.share_dir / LOADED_AT_FILE, repr(self.snapshot.loaded_at))
        if self.last_error:
            log.info("item attributes loaded again (%d items)", len(items))
        self._set_error("")

    def status(self, snapshot: Snapshot | None) -> str:
        """FRESH, STALE or MISSING: what an answer filtered with ``snapshot`` says."""
        if snapshot is None:
            return MISSING
        return FRESH if snapshot.age_s() <= self.max_age_s else STALE

    def problem(self) -> str:
        """Why the attributes cannot be trusted now, or "" when they can (readiness)."""
        snapshot = self.snapshot
        if self.status(snapshot) == FRESH:
            return ""
        state = (
            "never loaded"
            if snapshot is None
            else f"{snapshot.age_s():.0f} s old (bound {self.max_age_s:g} s, KAIZEN_ITEM_MAX_AGE_S)"
        )
        error = self.last_error or self._shared_error()
        return f"item attributes {state}" + (f": {error}" if error else "")

    # -- sharing between the processes of one model server ---------------------------------

    def _loads(self) -> bool:
        return self._lock_fd is not None

    def _elect(self) -> bool:
        """Take the loader's lock if no live process holds it (it is released when one dies)."""
        if self._lock_fd is None:
            fd = os.open(self.share_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._lock_fd = fd
            _replace(self.share_dir / ERROR_FILE, "")  # the previous loader's error went with it
            log.info("process %d loads item attributes for this model server", os.getpid())
        return True

    def _write_items(self, items: dict[str, Item]) -> None:
        _replace(self.share_dir / ITEMS_FILE, json.dumps({item: list(attrs) for item, attrs in items.items()}))

    def _read_shared(self) -> None:
        try:
            loaded_at = float((self.share_dir / LOADED_AT_FILE).read_text())
            items_file = self.share_dir / ITEMS_FILE
            mtime = items_file.stat().st_mtime_ns
            if mtime != self._seen_mtime or self.snapshot is None:
                items = {item: Item(a, c) for item, (a, c) in json.loads(items_file.read_text()).items()}
                self._seen_mtime = mtime
            else:
                items = self.snapshot.items
        except (FileNotFoundError, ValueError):  # nothing loaded yet
            return
        self.snapshot = Snapshot(items, loaded_at)

    def _failed(self, error: str) -> None:
        if error != self.last_error:  # log a change of state, not every refresh
            age = f"{self.snapshot.age_s():.0f} s old" if self.snapshot else "none yet"
            log.warning("item attributes not refreshed, keeping the last snapshot (%s): %s", age, error)
        self._set_error(error)

    def _set_error(self, error: str) -> None:
        if error != self.last_error:
            _replace(self.share_dir / ERROR_FILE, error)
        self.last_error = error

    def _shared_error(self) -> str:
        try:
            return (self.share_dir / ERROR_FILE).read_text()
        except FileNotFoundError:
            return ""


def _replace(path: Path, text: str) -> None:
    """Write ``path`` whole: readers see the old file or the new one, never half of one."""
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(text)
    os.replace(partial, path)
