"""The champion/challenger gate: a new version becomes ``@champion`` only if it wins.

Both versions are scored on the same test window. The challenger must beat the champion's
primary metric by ``margin`` and may lose at most ``tolerance`` on each guarded metric;
otherwise it becomes ``@challenger`` and the reason is recorded on the version.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from kaizen.registry import tags

log = logging.getLogger(__name__)

# Characters (blanks around not counted) of the reason an operator gives to override the gate:
# a forced promotion, or deploying a version other than the champion (a rollback).
MIN_OVERRIDE_REASON = 10


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
    metric: str = "mrr_20"  # the primary metric the decision was made on

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def note(self, version: str) -> str:
        """The decision in one line, for the run's page: what happened to ``version`` and why."""
        primary = f"{metric_name(self.metric)} {quoted(self.challenger[self.metric])}"
        if self.champion is None:
            return f"v{version} promoted to @champion, the first: {primary}"
        if self.forced:
            return f"v{version} promoted over v{self.champion_version}: {self.reason}"
        if self.promote:
            gain = self.challenger[self.metric] - self.champion[self.metric]
            name = metric_name(self.metric)
            return f"v{version} promoted over v{self.champion_version}: {gain:+.3f} {name} ({primary})"
        return f"v{version} kept as @challenger: {self.reason}"


METRIC_NAMES = {"mrr_20": "MRR@20", "hr_20": "HR@20", "ndcg_20": "NDCG@20"}


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric)


def quoted(x: float) -> str:
    """A metric as people quote them: .411, not 0.41100000."""
    return f"{x:.3f}".removeprefix("0")


def decide(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    policy: GatePolicy = GatePolicy(),
    champion_version: str | None = None,
) -> GateDecision:
    if champion is None:
        return GateDecision(True, "no champion yet", challenger, metric=policy.primary)
    p, name = policy.primary, metric_name(policy.primary)
    if not challenger[p] > champion[p] + policy.margin:
        reason = (
            f"{name} {quoted(challenger[p])} does not beat champion v{champion_version} "
            f"{quoted(champion[p])} (margin {policy.margin:g})"
        )
        return GateDecision(False, reason, challenger, champion, champion_version, metric=p)
    for metric in policy.guarded:
        if challenger[metric] < champion[metric] - policy.tolerance:
            reason = (
                f"{name} improves ({quoted(challenger[p])} > {quoted(champion[p])}) but {metric_name(metric)} "
                f"drops from {quoted(champion[metric])} to {quoted(challenger[metric])}, more than the tolerance "
                f"{policy.tolerance:g}"
            )
            return GateDecision(False, reason, challenger, champion, champion_version, metric=p)
    reason = f"{name} {quoted(challenger[p])} beats champion v{champion_version} {quoted(champion[p])}"
    return GateDecision(True, reason, challenger, champion, champion_version, metric=p)


def force(decision: GateDecision, reason: str) -> GateDecision:
    """An operator's override; it needs a reason, which is recorded with the gate's own."""
    if not reason or not reason.strip():
        raise ValueError("force-promote needs a reason")
    reason = f"forced by operator: {reason.strip()} (gate said: {decision.reason})"
    return dataclasses.replace(decision, promote=True, reason=reason, forced=True)


def apply(tracking_uri: str, name: str, version: str, decision: GateDecision) -> None:
    """Record the decision on the version and move the aliases as decided: ``@champion`` only
    if it still names the champion the decision was made against (``champion.move_champion``)."""
    # Here, not at the top: DAG files read this module's constants at parse time, without mlflow.
    from mlflow import MlflowClient

    from kaizen.errors import AliasMoved
    from kaizen.registry import champion

    client = MlflowClient(tracking_uri)
    if decision.promote:
        try:
            champion.move_champion(tracking_uri, name, version, expected=decision.champion_version)
        except AliasMoved as moved:
            client.set_model_version_tag(name, version, tags.DECISION, "stale")
            client.set_model_version_tag(name, version, tags.REASON, str(moved)[:4900])
            raise
    else:
        champion.keep_as_challenger(tracking_uri, name, version)
    client.set_model_version_tag(name, version, tags.DECISION, "promoted" if decision.promote else "refused")
    client.set_model_version_tag(name, version, tags.REASON, decision.reason[:4900])
    if decision.champion_version:
        client.set_model_version_tag(name, version, tags.COMPARED_WITH, decision.champion_version)
    log.info("%s v%s %s: %s", name, version, "promoted" if decision.promote else "refused", decision.reason)
