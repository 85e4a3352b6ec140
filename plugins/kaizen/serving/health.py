"""Whether the model server is serving, and filtering with fresh item attributes.

Before a first ``@champion`` exists the server is alive but not ready (``MODEL_NOT_READY``):
normal while a stack starts, so healthy for the stacks' checks. Anything else that is not
ready, item attributes past their staleness bound (``FEATURES_NOT_READY``: a lost feature
server or database) above all, is unhealthy. The embedded stack calls :func:`check`; the
container's healthcheck runs ``python -m kaizen.serving.health [URL]``. Standard library
only: it runs as a probe every few seconds.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from kaizen import probes
from kaizen.config import Settings

# seldon_model.SeldonRecommender.health_status's reasons for answering 503.
MODEL_NOT_READY = "MODEL_NOT_READY"
FEATURES_NOT_READY = "FEATURES_NOT_READY"


def check(url: str, timeout_s: float = 2.0) -> str:
    """A short status, or raises ``RuntimeError`` saying why the server is unhealthy."""
    try:
        with urllib.request.urlopen(f"{url}/health/status", timeout=timeout_s) as response:
            tags = json.load(response).get("meta", {}).get("tags", {})
    except urllib.error.HTTPError as exc:
        reason, info = _status(exc)
        if reason == MODEL_NOT_READY:
            return f"alive, not ready: {info}"
        raise RuntimeError(f"{reason or f'HTTP {exc.code}'}: {info}") from exc
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
    sys.exit(probes.run(check, Settings.from_env().model_server_url, "model server"))
