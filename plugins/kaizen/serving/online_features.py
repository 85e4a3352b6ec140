"""Online features for serve-time business rules, from Feast's feature server over HTTP.

seldon-core's pins keep the Feast SDK out of the serving environment, so the model server
asks ``feast serve`` (Feast's own online-serving endpoint) for the ``serving_v1`` feature
service (availability and category) with a short timeout. When the feature server or its
online store is down or slow, the answer is ``None`` and the model server serves without
the rules instead of failing the request.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import requests

log = logging.getLogger(__name__)

SERVING_SERVICE = "serving_v1"  # defined in kaizen.features.definitions (Feast is not in this env)
# How long requests are served without the feature server after it failed: a refused
# connection or a timeout per request would cost more than the whole prediction.
RETRY_AFTER_S = 1.0
FETCH_CHUNK = 50  # items per feature-server request


class Item(NamedTuple):
    available: bool
    category: str | None


class OnlineFeatures:
    """Availability and category per item, cached for ``cache_s``: they change with the
    catalogue, daily, not per request, and one HTTP round trip per request would cost most
    of the throughput (bench/serving.py); only items not seen within ``cache_s`` are asked for."""

    def __init__(self, url: str, timeout_ms: float, cache_s: float):
        self.url = url.rstrip("/") + "/get-online-features"
        self.timeout_s = timeout_ms / 1000
        self.cache_s = cache_s
        self.http = requests.Session()
        self.last_error = ""
        self.retry_at = 0.0  # after a failure, requests skip the feature server until then
        self.cache: dict[str, tuple[Item, float]] = {}  # item -> (features, expires at)

    def items(self, item_ids: list[str]) -> dict[str, Item] | None:
        """Each item's features; None when they cannot all be had within the timeout."""
        now = time.monotonic()
        missing = [i for i in item_ids if i not in self.cache or self.cache[i][1] <= now]
        if missing and now < self.retry_at:
            return None
        deadline = now + self.timeout_s
        # In chunks, each cached as it arrives: a large miss (a category placement's 200
        # candidates after a model swap) that times out still warms the cache for the next.
        for start in range(0, len(missing), FETCH_CHUNK):
            fetched = self._fetch(missing[start : start + FETCH_CHUNK], deadline - time.monotonic())
            if fetched is None:
                self.retry_at = time.monotonic() + RETRY_AFTER_S
                return None
            for item, features in fetched.items():
                self.cache[item] = (features, now + self.cache_s)
        return {i: self.cache[i][0] for i in item_ids}

    def _fetch(self, item_ids: list[str], timeout_s: float) -> dict[str, Item] | None:
        try:
            if timeout_s <= 0:
                raise TimeoutError(f"no time left of the {self.timeout_s * 1000:.0f} ms budget")
            response = self.http.post(
                self.url,
                json={"feature_service": SERVING_SERVICE, "entities": {"item_id": item_ids}},
                timeout=timeout_s,
            )
            response.raise_for_status()
            body = response.json()
            names = body["metadata"]["feature_names"]
            available = body["results"][names.index("available")]["values"]
            category = body["results"][names.index("category_id")]["values"]
            if not len(available) == len(category) == len(item_ids):
                raise ValueError(f"asked for {len(item_ids)} items, got {len(available)} values")
        except (requests.RequestException, TimeoutError, ValueError, KeyError, IndexError, TypeError) as exc:
            if str(exc) != self.last_error:  # log a change of state, not every request
                log.warning("online features unavailable, serving without them: %s", exc)
            self.last_error = str(exc)
            return None
        self.last_error = ""
        # Unknown to the online store (NOT_FOUND, null): no reason to hide the item.
        return {
            item: Item(a is not False, None if c is None else str(c))
            for item, a, c in zip(item_ids, available, category, strict=True)
        }
