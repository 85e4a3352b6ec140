"""Verified roll-out with automatic rollback, for the embedded stack and docker compose.

The model server follows ``@champion``; deploying a version means pointing the alias at
it, waiting until the server says it serves it, and checking real requests: every answer
well-formed and tagged with the version, p99 latency within budget. On any failure the
alias goes back to the previous champion, so the server never stays on a broken version.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from mlflow import MlflowClient

from kaizen import alerts, lake
from kaizen.config import CHAMPION_ALIAS, Settings
from kaizen.errors import ModelServerError, RolloutError, VerificationFailed
from kaizen.serving.client import ModelServerClient

log = logging.getLogger(__name__)

SMOKE_REQUESTS = 50
CONVERGED_ANSWERS = 10  # consecutive answers from the new version: every worker has loaded it


def smoke_sessions(settings: Settings, count: int = 20, length: int = 3) -> list[list[str]]:
    """Recent real session prefixes from the lake: what the shop's front end will send."""
    events = lake.read_events(settings.lake_dir, ["session_id", "item_id", "occurred_at"], newest_days=2)
    if events.empty:
        return [["unknown-item"]]  # a cold session still exercises the popularity fallback
    latest = events.nlargest(20 * count * length, "occurred_at").sort_values("occurred_at")
    recent = latest.groupby("session_id", sort=False)["item_id"].agg(list)
    return [items[-length:] for items in recent.tail(count)]


def verify(settings: Settings, version: str) -> dict:
    """Wait until ``version`` is served, then smoke-test it; raises on any failure."""
    client = ModelServerClient(settings.model_server_url)
    client.wait_for_version(version, timeout_s=settings.deploy_timeout_s)
    sessions = smoke_sessions(settings)
    _wait_until_every_worker_serves(client, version, sessions[0], settings.deploy_timeout_s)
    latencies = []
    for i in range(SMOKE_REQUESTS):
        answer = client.recommend(sessions[i % len(sessions)], k=20)
        if answer.model_version != version:
            raise VerificationFailed(f"an answer came from version {answer.model_version}, not {version}")
        if not answer.items:
            raise VerificationFailed(f"version {version} returned no items for {sessions[i % len(sessions)]}")
        latencies.append(answer.latency_ms)
    p99 = float(np.percentile(latencies, 99))
    if p99 > settings.deploy_p99_budget_ms:
        raise VerificationFailed(f"p99 latency {p99:.1f} ms exceeds the budget of {settings.deploy_p99_budget_ms} ms")
    return {"version": version, "smoke_requests": SMOKE_REQUESTS, "p50_ms": float(np.median(latencies)), "p99_ms": p99}


def _wait_until_every_worker_serves(
    client: ModelServerClient, version: str, session: list[str], timeout_s: float
) -> None:
    """One worker answered the health check; each polls the registry on its own and loads
    at its own pace (slower on a busy machine), so wait until answers agree before judging."""
    deadline = time.monotonic() + timeout_s
    streak = 0
    while streak < CONVERGED_ANSWERS:
        streak = streak + 1 if client.recommend(session, k=1).model_version == version else 0
        if streak == 0:
            if time.monotonic() > deadline:
                raise VerificationFailed(
                    f"some model server workers still serve another version after {timeout_s:.0f} s"
                )
            time.sleep(0.2)


def deploy(settings: Settings, version: str | None = None) -> dict:
    """Serve ``version`` (default: the current champion), verified; roll back on failure."""
    registry = MlflowClient(settings.mlflow_tracking_uri)
    name = settings.model_name
    current = registry.get_model_version_by_alias(name, CHAMPION_ALIAS).version
    target = str(version or current)
    previous = (
        current if target != current else registry.get_model_version(name, target).tags.get("kaizen.previous_champion")
    )
    if target != current:
        registry.get_model_version(name, target)  # fails clearly for a version that does not exist
        registry.set_registered_model_alias(name, CHAMPION_ALIAS, target)
        registry.set_model_version_tag(name, target, "kaizen.previous_champion", current)
    started = time.monotonic()
    try:
        result = verify(settings, target)
    except (ModelServerError, VerificationFailed, OSError) as exc:
        reason = str(exc)
        registry.set_model_version_tag(name, target, "kaizen.deploy.failed", reason[:4900])
        if not previous:
            raise RolloutError(
                f"version {target} failed verification and there is no earlier champion: {reason}"
            ) from exc
        registry.set_registered_model_alias(name, CHAMPION_ALIAS, previous)
        log.error(
            "version %s failed verification (%s); @%s back on version %s", target, reason, CHAMPION_ALIAS, previous
        )
        try:
            ModelServerClient(settings.model_server_url).wait_for_version(previous, timeout_s=settings.deploy_timeout_s)
            restored = f"the model server serves version {previous} again"
        except ModelServerError as again:
            restored = f"but the model server did not return to it: {again}"
        message = (
            f"version {target} failed verification: {reason}. "
            f"Rolled back: @{CHAMPION_ALIAS} is version {previous}, {restored}."
        )
        alerts.send("rollback", message, {"version": target, "restored": previous})
        raise RolloutError(message) from exc
    registry.set_model_version_tag(
        name, target, "kaizen.deploy.verified", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )
    return {**result, "previous": previous, "seconds": round(time.monotonic() - started, 2)}
