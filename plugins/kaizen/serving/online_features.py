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

FEATURE_SERVICE = "serving_v1"
# How long requests are served without the feature server after it failed: a refused
# connection or a timeout per request would cost more than the whole prediction.
RETRY_AFTER_S = 1.0


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
        """Each item's features; None when the features cannot be had."""
        now = time.monotonic()
        missing = [i for i in item_ids if i not in self.cache or self.cache[i][1] <= now]
        if missing:
            if now < self.retry_at:
                return None
            fetched = self._fetch(missing)
            if fetched is None:
                self.retry_at = now + RETRY_AFTER_S
                return None
            for item, features in fetched.items():
                self.cache[item] = (features, now + self.cache_s)
        return {i: self.cache[i][0] for i in item_ids}

    def _fetch(self, item_ids: list[str]) -> dict[str, Item] | None:
        try:
            response = self.http.post(
                self.url, json={"feature_service": FEATURE_SERVICE, "entities": {"item_id": item_ids}},
                timeout=self.timeout_s,
            )
            response.raise_for_status()
            body = response.json()
            names = body["metadata"]["feature_names"]
            available = body["results"][names.index("available")]["values"]
            category = body["results"][names.index("category_id")]["values"]
        except (requests.RequestException, ValueError, KeyError, IndexError) as exc:
            if str(exc) != self.last_error:  # log a change of state, not every request
                log.warning("online features unavailable, serving without them: %s", exc)
            self.last_error = str(exc)
            return None
        self.last_error = ""
        # Unknown to the online store (NOT_FOUND, null): no reason to hide the item.
        return {item: Item(a is not False, c) for item, a, c in zip(item_ids, available, category)}
