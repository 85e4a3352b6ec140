"""Whether Feast's feature server can read its online store, not only answer.

``feast serve``'s ``/health`` lists projects from its registry cache, so it stays 200 while
the online store's database is gone. This probe reads ``serving_v1`` for one item instead,
the request the model server makes; an item the store does not hold still answers 200, and
a repository not applied yet (a new stack) is healthy too.
The embedded stack calls :func:`check`; the container healthcheck and the Kubernetes probe
run ``python -m kaizen.features.health [URL]``. Standard library only: it runs as a
probe every few seconds.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from kaizen import probes
from kaizen.config import SERVING_FEATURE_SERVICE, Settings

PROBE_ITEM = "kaizen-health-probe"


def check(url: str, timeout_s: float = 3.0) -> str:
    """ "ok", or raises ``RuntimeError`` saying why the online store cannot be read."""
    body = json.dumps({"feature_service": SERVING_FEATURE_SERVICE, "entities": {"item_id": [PROBE_ITEM]}}).encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/get-online-features", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            json.load(response)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode(errors="replace").strip()
        if exc.code == 404 and "FeatureServiceNotFound" in detail:  # before the first `feast apply`
            return f"ok, {SERVING_FEATURE_SERVICE} not applied yet"
        raise RuntimeError(f"online read answered {exc.code}: {detail}") from exc
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"online read failed: {exc}") from exc
    return "ok"


if __name__ == "__main__":
    sys.exit(probes.run(check, Settings.from_env().feature_server_url, "feature server"))
