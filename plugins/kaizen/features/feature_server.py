"""Feast's feature server (``feast serve``) for this stack's repository, run the same way by
the embedded stack, docker compose and Kubernetes.

The model server loads every servable item's ``serving_v1`` features from it; other clients
use its ``/get-online-features`` as Feast documents it. One worker: the model server's bulk
loads are its main traffic, and each worker would hold its own registry cache.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kaizen.config import Settings

# How long feast serve keeps the registry before reading it again: new feature definitions
# reach it within this time. The embedded stack shortens it for its tests.
REGISTRY_TTL_S = 60


def command(settings: Settings, registry_ttl_s: int = REGISTRY_TTL_S) -> list[str]:
    feast = Path(sys.executable).with_name("feast")
    return [
        str(feast),
        "-c",
        str(settings.feast_repo_dir),
        "serve",
        "-h",
        settings.host,
        "-p",
        str(settings.feature_server_port),
        "--workers",
        "1",
        "--no-access-log",
        "--registry_ttl_sec",
        str(registry_ttl_s),
    ]


def serve(settings: Settings, registry_ttl_s: int = REGISTRY_TTL_S) -> None:
    """Write ``feature_store.yaml`` from the settings, then become ``feast serve``."""
    from kaizen.features.repo_config import write_config  # imports Feast: not for `kaizen status`

    write_config(settings)
    argv = command(settings, registry_ttl_s)
    os.execv(argv[0], argv)
