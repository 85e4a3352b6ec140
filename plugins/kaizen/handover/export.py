"""Bundles for a partner: a registered model with everything needed to verify and gate it
elsewhere, or a snapshot of the lake's newest days to train on."""

from __future__ import annotations

import getpass
import shutil
import socket
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from kaizen import lake
from kaizen.config import PROJECT_DIR, SERVING_FEATURE_SERVICE, Settings
from kaizen.db_urls import redact
from kaizen.errors import ConfigError, UpstreamMissing
from kaizen.features.repo_config import feature_store
from kaizen.handover import bundle
from kaizen.handover.compatibility import MODEL_DIR, SERVED_ARTIFACT, service_features
from kaizen.models import load_model
from kaizen.registry.champion import champion_version
from kaizen.registry.pyfunc import SIGNATURE
from kaizen.training import protocol
from kaizen.training.item_features import TRAINING_SERVICE
from kaizen.training.tracking import WINDOW_TAG

CARD = "model_card.md"
LOCKS = ("orchestration.lock", "serving.lock")  # what training and serving install


@dataclass(frozen=True)
class Exported:
    path: Path
    digest: str  # SHA-256 of the manifest: give it to the partner over another channel
    note: str

    def as_dict(self) -> dict:
        return {"path": str(self.path), "digest": self.digest, "note": self.note}


def outgoing(settings: Settings, name: str, out: Path | None) -> Path:
    """Where a bundle goes: ``out``, or a new file under KAIZEN_HANDOVER_DIR/outgoing; never
    over an existing bundle (a partner may be reading it)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out or settings.handover_dir / "outgoing" / f"{name}-{stamp}.tar.gz"
    if out.exists():
        raise ConfigError(f"{out} exists: name another file")
    return out


def _provenance(settings: Settings, producer: str) -> dict:
    return {
        "producer": producer or f"{getpass.getuser()}@{socket.gethostname()}",
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kaizen_version": metadata.version("kaizen"),
        "tracking_uri": redact(settings.mlflow_tracking_uri),
    }


def export_model(settings: Settings, version: str | None, out: Path | None = None, producer: str = "") -> Exported:
    """Bundle registered ``version`` (default: the champion) for a partner."""
    client, name = MlflowClient(settings.mlflow_tracking_uri), settings.model_name
    version = version or champion_version(settings.mlflow_tracking_uri, name)
    if not version:
        raise ConfigError(f"{name} has no @champion yet: name the version to export")
    try:
        registered = client.get_model_version(name, version)
    except MlflowException as exc:
        raise ConfigError(f"{name} has no version {version}") from exc
    run = client.get_run(registered.run_id)
    store = feature_store(settings)
    trained_on = registered.tags.get("kaizen.feature_service", TRAINING_SERVICE)
    out = outgoing(settings, f"{name}-v{version}", out)
    with tempfile.TemporaryDirectory(prefix="kaizen-export-") as tmp:
        root = Path(tmp)
        mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(root / MODEL_DIR))
        model = load_model(root / SERVED_ARTIFACT)
        if CARD in {a.path for a in client.list_artifacts(run.info.run_id)}:
            client.download_artifacts(run.info.run_id, CARD, str(root))
        for lock in LOCKS:  # this installation's: a container image holds the orchestration one only
            if (PROJECT_DIR / "requirements" / lock).exists():
                (root / "environment").mkdir(exist_ok=True)
                shutil.copy(PROJECT_DIR / "requirements" / lock, root / "environment" / lock)
        tags = run.data.tags
        experiment = client.get_experiment(run.info.experiment_id).name
        sealed = bundle.seal(
            root,
            bundle.MODEL_KIND,
            {
                "model": {"name": name, "version": version, "kind": model.kind, "params": model.params},
                "signature": SIGNATURE.to_dict(),
                "feature_service": trained_on,
                "feature_services": {
                    service: service_features(store, service) for service in (trained_on, SERVING_FEATURE_SERVICE)
                },
                "training_data": {
                    "schema": lake.events_schema(settings.lake_dir),
                    "digest": tags.get(f"{WINDOW_TAG}digest"),
                    "window": {k.removeprefix(WINDOW_TAG): v for k, v in tags.items() if k.startswith(WINDOW_TAG)},
                },
                "metrics": run.data.metrics,
                "protocol": {
                    "text": protocol.__doc__.strip(),
                    "train_days": run.data.params.get("train_days"),
                    "test_days": run.data.params.get("test_days"),
                    "max_test_sessions": settings.eval_max_sessions,
                },
                "model_card": CARD if (root / CARD).exists() else None,
                "provenance": {
                    **_provenance(settings, producer),
                    "experiment": experiment,
                    "run_id": run.info.run_id,
                    "code_version": tags.get("kaizen.code_version"),
                },
            },
            out,
        )
        digest = bundle.sha256(root / bundle.MANIFEST)
    note = f"v{version} ({model.kind}) exported to {sealed}; manifest SHA-256 {digest}"
    return Exported(sealed, digest, note)


def export_snapshot(settings: Settings, days: int, out: Path | None = None, producer: str = "") -> Exported:
    """The lake's newest ``days`` days of events, the feature tables and the feature services'
    definitions: what a partner needs to train a model this platform can import."""
    partitions = sorted(lake.events_dir(settings.lake_dir).glob("date=*"))[-days:]
    if not partitions:
        raise UpstreamMissing("the lake holds no events yet: run ingest_shop_events first")
    first, last = (p.name.removeprefix("date=") for p in (partitions[0], partitions[-1]))
    out = outgoing(settings, f"{bundle.SNAPSHOT_PREFIX}{first}-{last}", out)
    store = feature_store(settings)
    with tempfile.TemporaryDirectory(prefix="kaizen-snapshot-") as tmp:
        root = Path(tmp)
        for partition in partitions:
            shutil.copytree(partition, root / "lake" / "events" / partition.name)
        features = Path(settings.lake_dir) / "features"
        if features.exists():
            shutil.copytree(features, root / "lake" / "features")
        sealed = bundle.seal(
            root,
            bundle.SNAPSHOT_KIND,
            {
                "window": {"first_day": first, "last_day": last, "days": len(partitions)},
                "schema": lake.events_schema(settings.lake_dir),
                "feature_services": {s.name: service_features(store, s.name) for s in store.list_feature_services()},
                "feature_views": {v.name: {f.name: str(f.dtype) for f in v.schema} for v in store.list_feature_views()},
                "provenance": _provenance(settings, producer),
            },
            out,
        )
        digest = bundle.sha256(root / bundle.MANIFEST)
    note = f"{len(partitions)} days of events ({first} to {last}) exported to {sealed}; manifest SHA-256 {digest}"
    return Exported(sealed, digest, note)
