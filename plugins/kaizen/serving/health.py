"""Whether the model server is alive, serving, and filtering with fresh item attributes.

Before a first ``@champion`` exists the server is alive but not ready: normal while a stack
starts, so healthy for the stacks' checks. Item attributes past their staleness bound mean a
lost feature server or database: unhealthy. The embedded stack calls :func:`check`; the
container's healthcheck runs ``python -m kaizen.serving.health [URL]``. Standard
library only: it runs as a probe every few seconds.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from kaizen import probes

DEFAULT_URL = "http://127.0.0.1:9000"
FEATURES_NOT_READY = "FEATURES_NOT_READY"  # seldon_model.SeldonRecommender.health_status's reason


def check(url: str = DEFAULT_URL, timeout_s: float = 3.0) -> str:
    """A short status, or raises ``RuntimeError`` saying why the server is unhealthy."""
    try:
        urllib.request.urlopen(f"{url}/health/ping", timeout=timeout_s).close()
        with urllib.request.urlopen(f"{url}/health/status", timeout=timeout_s) as response:
            tags = json.load(response).get("meta", {}).get("tags", {})
    except urllib.error.HTTPError as exc:
        reason, info = _status(exc)
        if reason == FEATURES_NOT_READY:
            raise RuntimeError(info) from exc
        return f"alive, not ready: {info}"
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"no answer: {exc}") from exc
    return f"serving {tags.get('model_name', '?')} v{tags.get('model_version', '?')}"


def _status(error: urllib.error.HTTPError) -> tuple[str, str]:
    """seldon-core's (reason, info) of a failed health status."""
    body = error.read(2000).decode(errors="replace")
    try:
        status = json.loads(body)["status"]
        return status.get("reason", ""), status["info"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", body[:200] or f"HTTP {error.code}"


if __name__ == "__main__":
    sys.exit(probes.run(check, DEFAULT_URL, "model server"))
