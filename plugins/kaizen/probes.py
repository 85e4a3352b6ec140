"""A health check run as a probe (container healthcheck, Kubernetes exec probe): the status
on stdout and exit 0, or the reason on stderr and exit 1. Standard library only."""

from __future__ import annotations

import sys
from collections.abc import Callable


def run(check: Callable[[str], str], default_url: str, component: str, argv: list[str] | None = None) -> int:
    """``check(url)`` for the URL in ``argv`` (else ``default_url``); it raises RuntimeError when unhealthy."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        print(check(argv[0] if argv else default_url))
    except RuntimeError as exc:
        print(f"{component} unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0
