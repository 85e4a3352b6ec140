"""The champion/challenger gate: a new version becomes ``@champion`` only if it wins.

Both versions are scored on the same test window. The challenger must beat the champion's
primary metric by ``margin`` and may lose at most ``tolerance`` on each guarded metric;
otherwise it becomes ``@challenger`` and the reason is recorded on the version.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from mlflow import MlflowClient

from kaizen.config import CHAMPION_ALIAS

log = logging.getLogger(__name__)

CHALLENGER_ALIAS = "challenger"


@dataclass(frozen=True)
class GatePolicy:
    primary: str = "mrr_20"
    margin: float = 0.0  # absolute: the challenger needs primary > champion's + margin
    guarded: tuple[str, ...] = ("hr_20",)
    tolerance: float = 0.01  # absolute loss allowed on each guarded metric


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None = None
    champion_version: str | None = None
    forced: bool = False
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def decide(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    policy: GatePolicy = GatePolicy(),
    champion_version: str | None = None,
) -> GateDecision:
    if champion is None:
        return GateDecision(True, "no champion yet", challenger)
    p = policy.primary
    if not challenger[p] > champion[p] + policy.margin:
        reason = (
            f"{p} {challenger[p]:.4f} does not beat the champion's {champion[p]:.4f} "
            f"by more than the margin {policy.margin}"
        )
        return GateDecision(False, reason, challenger, champion, champion_version)
    for metric in policy.guarded:
        if challenger[metric] < champion[metric] - policy.tolerance:
            reason = (
                f"{p} improves ({challenger[p]:.4f} > {champion[p]:.4f}) but {metric} drops from "
                f"{champion[metric]:.4f} to {challenger[metric]:.4f}, more than the tolerance {policy.tolerance}"
            )
            return GateDecision(False, reason, challenger, champion, champion_version)
    reason = f"{p} {challenger[p]:.4f} beats the champion's {champion[p]:.4f} (v{champion_version})"
    return GateDecision(True, reason, challenger, champion, champion_version)


def force(decision: GateDecision, reason: str) -> GateDecision:
    """An operator's override; it needs a reason, which is recorded with the gate's own."""
    if not reason or not reason.strip():
        raise ValueError("force-promote needs a reason")
    return GateDecision(
        True,
        f"forced by operator: {reason.strip()} (gate said: {decision.reason})",
        decision.challenger,
        decision.champion,
        decision.champion_version,
        forced=True,
    )


def apply(tracking_uri: str, name: str, version: str, decision: GateDecision) -> None:
    """Move the aliases as decided and record the decision on the version."""
    client = MlflowClient(tracking_uri)
    client.set_model_version_tag(name, version, "kaizen.gate.decision", "promoted" if decision.promote else "refused")
    client.set_model_version_tag(name, version, "kaizen.gate.reason", decision.reason[:4900])
    if decision.champion_version:
        client.set_model_version_tag(name, version, "kaizen.gate.compared_with", decision.champion_version)
    if decision.promote:
        if decision.champion_version:
            client.set_model_version_tag(name, version, "kaizen.previous_champion", decision.champion_version)
        client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    else:
        client.set_registered_model_alias(name, CHALLENGER_ALIAS, version)
    log.info("%s v%s %s: %s", name, version, "promoted" if decision.promote else "refused", decision.reason)
