"""Whether a model bundle fits this platform: what it says about itself against Kaizen's own
feature store, lake and model server. Each check raises HandoverRefused with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from feast import FeatureStore
from feast.errors import FeatureServiceNotFoundException

from kaizen import lake
from kaizen.config import SERVING_FEATURE_SERVICE, Settings
from kaizen.errors import HandoverRefused
from kaizen.features.repo_config import feature_store
from kaizen.handover.bundle import MODEL_KIND, Bundle
from kaizen.models import Recommender, load_model
from kaizen.registry.client import MODEL_ARTIFACT
from kaizen.registry.pyfunc import SIGNATURE

MODEL_DIR = "model"  # the MLflow model directory inside a bundle
SERVED_ARTIFACT = f"{MODEL_DIR}/{MODEL_ARTIFACT}"  # what the model server loads


def service_features(store: FeatureStore, name: str) -> list[str]:
    """The ``view:feature`` names a feature service provides."""
    service = store.get_feature_service(name)
    return sorted(f"{p.name}:{f.name}" for p in service.feature_view_projections for f in p.features)


def check_model_kind(bundle: Bundle) -> Recommender:
    """The served artifact, loaded: the kind the bundle declares must be one the model server
    loads, and the artifact must be of that kind."""
    declared = bundle.metadata["model"]["kind"]
    if declared not in Recommender.registry:
        known = ", ".join(sorted(Recommender.registry))
        raise HandoverRefused(f"model kind {declared!r} is not one the model server can load ({known})")
    path = bundle.path(SERVED_ARTIFACT)
    if not path.exists():
        raise HandoverRefused(f"no serving artifact: the bundle lacks {SERVED_ARTIFACT}")
    try:
        model = load_model(path)
    except (ValueError, KeyError, OSError) as exc:
        raise HandoverRefused(f"{SERVED_ARTIFACT} does not load: {exc}") from exc
    if model.kind != declared:
        raise HandoverRefused(f"bundle.json declares a {declared!r} model, but {SERVED_ARTIFACT} holds {model.kind!r}")
    return model


def check_signature(bundle: Bundle) -> None:
    """The model answers the requests the model server sends it: the same MLflow signature."""
    if bundle.metadata["signature"] != SIGNATURE.to_dict():
        raise HandoverRefused(
            f"the model's signature {bundle.metadata['signature']} is not Kaizen's {SIGNATURE.to_dict()}"
        )


def check_window(bundle: Bundle, test_start: pd.Timestamp) -> None:
    """The model saw nothing of the window it will be judged on: its training data ends (its own
    test window starts) no later than Kaizen's test window does."""
    window = bundle.metadata["training_data"]["window"]
    if "test_start" not in window:
        raise HandoverRefused("the bundle does not say where the model's training data ends (training_data.window)")
    try:
        trained_until = _utc(pd.Timestamp(window["test_start"]))
    except (ValueError, TypeError) as exc:
        raise HandoverRefused(f"training_data.window.test_start {window['test_start']!r} is not a time") from exc
    if trained_until > _utc(test_start):
        raise HandoverRefused(
            f"the model was trained on data up to {trained_until}, inside Kaizen's test window (from "
            f"{test_start}): the gate would judge it on data it has seen"
        )


def _utc(moment: pd.Timestamp) -> pd.Timestamp:
    """Times without a zone are UTC, as the lake's are."""
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def check_features(settings: Settings, bundle: Bundle) -> None:
    """Every feature the model expects, in training and in serving, exists here by the same name."""
    store = feature_store(settings)
    for service, features in bundle.metadata["feature_services"].items():
        try:
            here = set(service_features(store, service))
        except FeatureServiceNotFoundException as exc:
            raise HandoverRefused(
                f"the model needs feature service {service!r}, which Kaizen's feature store lacks"
            ) from exc
        if missing := sorted(set(features) - here):
            raise HandoverRefused(
                f"the model needs feature {missing[0]} of service {service!r}, which Kaizen's feature store lacks"
            )
    if SERVING_FEATURE_SERVICE not in bundle.metadata["feature_services"]:
        raise HandoverRefused(
            f"the bundle does not say which features of {SERVING_FEATURE_SERVICE!r} it was served with"
        )


def check_schema(lake_dir: Path, bundle: Bundle) -> None:
    """The model was trained on events of the same columns and types as Kaizen's lake holds."""
    theirs, ours = bundle.metadata["training_data"]["schema"], lake.events_schema(lake_dir)
    if not ours:
        raise HandoverRefused("Kaizen's lake holds no events yet: ingest first (the gate needs local data)")
    for column in sorted(theirs.keys() | ours.keys()):
        if theirs.get(column) != ours.get(column):
            raise HandoverRefused(
                f"training data schema differs: column {column!r} is {theirs.get(column) or 'absent'} in the "
                f"bundle, {ours.get(column) or 'absent'} in Kaizen's lake"
            )


def check(settings: Settings, bundle: Bundle) -> Recommender:
    """Every check on a verified bundle, cheapest first; the model, loaded. (The window is
    checked on import, against the test window the gate will use.)"""
    if bundle.kind != MODEL_KIND:
        raise HandoverRefused(f"a {bundle.kind} bundle holds no model to import: train on it, then export the model")
    model = check_model_kind(bundle)
    check_signature(bundle)
    check_schema(settings.lake_dir, bundle)
    check_features(settings, bundle)
    return model
