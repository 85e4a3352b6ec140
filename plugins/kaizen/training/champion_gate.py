"""The champion/challenger comparison: both models scored on exactly the same predictions.

Training evaluates the challenger, so it also evaluates the champion: it downloads the
champion's artifact through the registry's REST client and scores it on the test events
of items both models know. ``kaizen.registry.gate`` decides on the two sets of metrics.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kaizen.config import Settings
from kaizen.models import Recommender, Sessions, load_model
from kaizen.registry import gate
from kaizen.registry.champion import champion_version
from kaizen.registry.client import MODEL_ARTIFACT, RegistryClient
from kaizen.training.dataset import common_test
from kaizen.training.evaluation import evaluate, target_ranks
from kaizen.training.options import TrainOptions


@dataclass(frozen=True)
class Champion:
    version: str
    model: Recommender


@dataclass(frozen=True)
class GateOutcome:
    decision: gate.GateDecision
    ranks: dict[str, np.ndarray]  # each compared model's target ranks (label -> ranks), for the HR@K plot


def load_champion(settings: Settings) -> Champion | None:
    """The current ``@champion``, or None before the first promotion."""
    version = champion_version(settings.mlflow_tracking_uri, settings.model_name)
    if version is None:
        return None
    return Champion(version, load_version(settings, version))


def load_version(settings: Settings, version: str) -> Recommender:
    """A registered version's model, read through the registry's REST client (nothing left on disk)."""
    with tempfile.TemporaryDirectory(prefix=f"kaizen-v{version}-") as tmp:
        dest = Path(tmp) / MODEL_ARTIFACT.rsplit("/", 1)[-1]
        RegistryClient(settings.mlflow_tracking_uri).download(settings.model_name, version, MODEL_ARTIFACT, dest)
        return load_model(dest)


def judge(
    settings: Settings, options: TrainOptions, test: Sessions, model: Recommender, metrics: dict[str, float]
) -> GateOutcome:
    """The gate's decision on ``model`` (whose ``metrics`` on ``test`` are known) against the champion,
    overridden when the options force a promotion."""
    label = f"challenger ({model.kind})"
    champion = load_champion(settings)
    if champion is None:
        return GateOutcome(gate.decide(metrics, None, options.policy), {label: target_ranks(model, test)})
    for_challenger, for_champion = common_test(test, model.vocabulary, champion.model.vocabulary)
    decision = gate.decide(
        evaluate(model, for_challenger), evaluate(champion.model, for_champion), options.policy, champion.version
    )
    if options.force_promote and not decision.promote:
        decision = gate.force(decision, options.force_reason)
    ranks = {
        label: target_ranks(model, for_challenger),
        f"champion v{champion.version}": target_ranks(champion.model, for_champion),
    }
    return GateOutcome(decision, ranks)
