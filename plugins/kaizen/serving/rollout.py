"""Verified roll-out with automatic rollback, for the embedded stack and docker compose.

The model server follows ``@champion``; deploying a version means pointing the alias at
it, waiting until the server says it serves it, and checking real requests: every answer
well-formed and tagged with the version, p99 latency within budget. On any failure (any
exception, not only the expected ones) the alias goes back to the previous champion, so the
server never stays on an unverified version; unless another run moved the alias meanwhile,
whose move then stands (``kaizen.registry.champion``'s compare-and-set).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from mlflow import MlflowClient

from kaizen import alerts, lake
from kaizen.config import CHAMPION_ALIAS, Settings
from kaizen.errors import (
    AliasMoved,
    ConfigError,
    KaizenError,
    ModelServerError,
    RolloutError,
    UpstreamMissing,
    VerificationFailed,
)
from kaizen.registry import champion, tags
from kaizen.registry.gate import MIN_OVERRIDE_REASON
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


@dataclass(frozen=True)
class DeployRequest:
    """Who asked for which version and why; a deploy of anything but the current champion (a
    rollback, a refused challenger) needs a reason, because it overrides the gate."""

    version: str | None = None  # None: the current @champion
    reason: str | None = None
    requested_by: str | None = None  # the Airflow user who triggered the run; None: a promotion

    @classmethod
    def from_params(cls, params: dict, triggered_by: str | None) -> DeployRequest:
        """The request of a deploy_recommender run: its Params and who triggered it."""
        return cls(params["version"], params["reason"], triggered_by)

    def check(self, champion: str) -> None:
        if self.version and self.version != champion and len((self.reason or "").strip()) < MIN_OVERRIDE_REASON:
            raise ConfigError(
                f"deploying version {self.version} over @{CHAMPION_ALIAS} v{champion} needs a reason of at "
                f"least {MIN_OVERRIDE_REASON} characters (who asked, why): nothing was changed"
            )


def current_champion(settings: Settings) -> str:
    """The version ``@champion`` names; there is nothing to deploy before the first promotion."""
    version = champion.champion_version(settings.mlflow_tracking_uri, settings.model_name)
    if version is None:
        raise UpstreamMissing(
            f"{settings.model_name} has no @{CHAMPION_ALIAS} yet: train_recommender promotes the first version"
        )
    return version


def check_request(settings: Settings, request: DeployRequest) -> None:
    """Refuse a request against the current champion before anything is rendered or moved."""
    request.check(current_champion(settings))


def _roll_back(settings: Settings, failed: str, previous: str | None, reason: str) -> str:
    """Put ``previous`` back as ``@champion`` after ``failed`` failed verification, unless
    another run moved the alias meanwhile; alert; what happened, in words."""
    if not previous:
        return f"version {failed} failed verification and there is no earlier champion: {reason}"
    try:
        champion.restore_champion(settings.mlflow_tracking_uri, settings.model_name, previous, failed)
    except AliasMoved as moved:
        return f"version {failed} failed verification: {reason}. Not rolled back: {moved}"
    log.error("version %s failed verification (%s); @%s back on version %s", failed, reason, CHAMPION_ALIAS, previous)
    try:
        ModelServerClient(settings.model_server_url).wait_for_version(previous, timeout_s=settings.deploy_timeout_s)
        restored = f"the model server serves version {previous} again"
        _record_rollback(settings, failed, previous)
    except ModelServerError as again:
        restored = f"but the model server did not return to it: {again}"
    message = (
        f"version {failed} failed verification: {reason}. "
        f"Rolled back: @{CHAMPION_ALIAS} is version {previous}, {restored}."
    )
    alerts.send("rollback", message, {"version": failed, "restored": previous})
    return message


def _record_rollback(settings: Settings, failed: str, previous: str) -> None:
    """Tag ``failed`` with the version a worked rollback restored (the evidence `kaizen maturity`
    reads); a registry that does not take it costs the record, never the rollback's alert."""
    try:
        MlflowClient(settings.mlflow_tracking_uri).set_model_version_tag(
            settings.model_name, failed, tags.ROLLED_BACK_TO, previous
        )
    except Exception:  # MLflow's client raises its own and requests' errors
        log.warning("could not record the rollback of version %s on the registry", failed, exc_info=True)


def _kind(target: str, current: str) -> str:
    if target == current:
        return "redeploy"
    return "rollback" if int(target) < int(current) else "manual"


def deploy(settings: Settings, version: str | None = None, request: DeployRequest | None = None) -> dict:
    """Serve ``version`` (default: the current champion), verified; roll back on failure. A
    deploy someone asked for (``request``, from the DAG's form) must follow its rules and is
    recorded on the version: by whom, why, which kind; one Kaizen itself starts (a promotion's)
    is not asked for reasons."""
    registry = MlflowClient(settings.mlflow_tracking_uri)
    tracking, name = settings.mlflow_tracking_uri, settings.model_name
    current = current_champion(settings)
    if request is not None:
        request.check(current)
    request = request or DeployRequest(version)
    target = str(version or current)
    if target != current:
        registry.get_model_version(name, target)  # fails clearly for a version that does not exist
        champion.move_champion(tracking, name, target, expected=current)
    previous = champion.previous_champion(tracking, name, target)
    if request.requested_by:
        audit = {
            tags.DEPLOY_KIND: _kind(target, current),
            tags.DEPLOYED_BY: request.requested_by,
            tags.DEPLOY_REASON: (request.reason or "").strip()[:4900] or "-",
        }
        for key, value in audit.items():
            registry.set_model_version_tag(name, target, key, value)
    started = time.monotonic()
    try:
        result = verify(settings, target)
    except Exception as exc:  # whatever went wrong, the version was not verified: it must not stay
        reason = f"{type(exc).__name__}: {exc}" if not isinstance(exc, KaizenError) else str(exc)
        registry.set_model_version_tag(name, target, tags.FAILED, reason[:4900])
        raise RolloutError(_roll_back(settings, target, previous, reason)) from exc
    registry.set_model_version_tag(name, target, tags.VERIFIED, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    moved = f"{current} -> {target}" if target != current else f"{target} verified"
    by = f"; by {request.requested_by}: {request.reason.strip()}" if request.requested_by and request.reason else ""
    smoke = f"{result['smoke_requests']}/{SMOKE_REQUESTS} smoke answers ok, p99 {result['p99_ms']:.0f} ms"
    note = f"@{CHAMPION_ALIAS} {moved}, {smoke}{by}"
    return {**result, "previous": previous, "seconds": round(time.monotonic() - started, 2), "note": note}
