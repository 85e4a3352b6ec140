"""Online features for serve-time business rules, from Feast's feature server over HTTP.

seldon-core's pins keep the Feast SDK out of the serving environment, so the model server
asks ``feast serve`` (Feast's own online-serving endpoint) with a short timeout. When the
feature server or its online store is down or slow, the answer is ``None`` and the model
server serves without the filter instead of failing the request.
"""

from __future__ import annotations

import logging

import requests

log = logging.getLogger(__name__)

AVAILABILITY = "item_catalog:available"


class OnlineFeatures:
    def __init__(self, url: str, timeout_ms: float):
        self.url = url.rstrip("/") + "/get-online-features"
        self.timeout_s = timeout_ms / 1000
        self.http = requests.Session()
        self.last_error = ""

    def unavailable(self, item_ids: list[str]) -> set[str] | None:
        """The items the catalogue marks unavailable; None when the features cannot be had."""
        try:
            response = self.http.post(
                self.url, json={"features": [AVAILABILITY], "entities": {"item_id": item_ids}}, timeout=self.timeout_s
            )
            response.raise_for_status()
            body = response.json()
            column = body["metadata"]["feature_names"].index("available")
            values = body["results"][column]["values"]
        except (requests.RequestException, ValueError, KeyError, IndexError) as exc:
            if str(exc) != self.last_error:  # log a change of state, not every request
                log.warning("online features unavailable, serving without them: %s", exc)
            self.last_error = str(exc)
            return None
        self.last_error = ""
        return {item for item, available in zip(item_ids, values) if available is False}
