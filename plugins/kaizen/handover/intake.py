"""A partner's model in: verified, registered with its origin, then judged by the same gate as
Kaizen's own models, on Kaizen's own data.

Nothing is registered unless the bundle is the one announced (its manifest's SHA-256, when
given) and intact, fits (model kind, signature, training data schema, feature services),
never saw Kaizen's test window, and was not imported before. Only the verified artifact
travels on: the version is logged with Kaizen's own pyfunc wrapper, never the partner's
pickled code. The partner's metrics are kept as ``partner_*``; the gate decides on the local
ones. The run carries the partner's data window (``kaizen.window.*``), which monitoring's
drift check compares the shop's newest days with.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from kaizen.config import HANDOVER_EXPERIMENT, Settings
from kaizen.errors import AlreadyRegistered, UpstreamMissing
from kaizen.handover import bundle, compatibility
from kaizen.registry.champion import register
from kaizen.registry.pyfunc import log_recommender
from kaizen.training import tracking
from kaizen.training.dataset import read_window, time_split
from kaizen.training.evaluation import evaluate
from kaizen.training.lineage import Lineage, TrainingWindow
from kaizen.training.options import TrainOptions
from kaizen.training.train import Candidate

log = logging.getLogger(__name__)

TAG = "kaizen.handover."  # provenance tags on the run and the version
MANIFEST_TAG = f"{TAG}manifest_sha256"


def incoming(settings: Settings) -> Path:
    """Where partners' bundles are dropped (exports go to ``outgoing``)."""
    return settings.handover_dir / "incoming"


def newest_bundle(settings: Settings) -> Path:
    """The most recently dropped model bundle in KAIZEN_HANDOVER_DIR/incoming."""
    found = [p for p in incoming(settings).glob("*.tar.gz") if not p.name.startswith(bundle.SNAPSHOT_PREFIX)]
    if not found:
        raise UpstreamMissing(f"no model bundle in {incoming(settings)}: put one there or name its path")
    return max(found, key=lambda p: p.stat().st_mtime)


def provenance_tags(verified: bundle.Bundle, source: Path) -> dict[str, str]:
    origin, model = verified.metadata["provenance"], verified.metadata["model"]
    return {
        f"{TAG}producer": str(origin["producer"]),
        f"{TAG}exported_at": str(origin["exported_at"]),
        f"{TAG}source": f"{origin['tracking_uri']} {model['name']} v{model['version']} (run {origin['run_id']})",
        f"{TAG}code_version": str(origin.get("code_version")),
        f"{TAG}bundle": source.name,
        MANIFEST_TAG: verified.digest,
        "kaizen.feature_service": str(verified.metadata["feature_service"]),
    }


def imported_before(settings: Settings, digest: str) -> str | None:
    """The version already registered from the bundle with manifest ``digest``, if any."""
    found = MlflowClient(settings.mlflow_tracking_uri).search_model_versions(
        f"name='{settings.model_name}' and tags.`{MANIFEST_TAG}` = '{digest}'"
    )
    return str(found[0].version) if found else None


def import_bundle(
    settings: Settings, source: Path, options: TrainOptions | None = None, expected_sha256: str | None = None
) -> Candidate:
    """Verify ``source``, score its model on the lake's test window (``options``' days) and
    register it; the candidate for the gate (``kaizen.training.train.gate_candidate``)."""
    options = options or TrainOptions()
    with tempfile.TemporaryDirectory(prefix="kaizen-import-") as tmp:
        verified = bundle.open_bundle(source, Path(tmp), expected_sha256)
        model = compatibility.check(settings, verified)
        if earlier := imported_before(settings, verified.digest):
            raise AlreadyRegistered(f"v{earlier} was imported from this bundle (manifest {verified.digest[:12]})")
        events = read_window(settings.lake_dir, options.train_days + options.test_days)
        split = time_split(events, options.test_days, settings.eval_max_sessions)
        if split.test.n_sessions == 0:
            raise UpstreamMissing(
                f"the lake's last {options.test_days} days hold no test session to judge the model on"
            )
        compatibility.check_window(verified, split.test_start)
        metrics = evaluate(model, split.test)
        meta, tags = verified.metadata, provenance_tags(verified, source)
        lineage = Lineage(
            model.kind,
            model.params,
            TrainingWindow.of(events, split, test_predictions=int(metrics["predictions"])),
            feature_service=meta["feature_service"],
            code_version=str(meta["provenance"].get("code_version")),
        )
        mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
        mlflow.set_experiment(HANDOVER_EXPERIMENT)
        with mlflow.start_run(run_name=f"{model.kind}-from-{meta['provenance']['producer']}") as run:
            for name in (bundle.METADATA, bundle.MANIFEST, meta.get("model_card")):
                if name and verified.path(name).exists():
                    mlflow.log_artifact(str(verified.path(name)), "handover")
            mlflow.log_params({"model": model.kind, "test_days": options.test_days, **model.params})
            partner = {f"partner_{k}": v for k, v in meta["metrics"].items() if isinstance(v, int | float)}
            mlflow.log_metrics(metrics | partner)
            window = {f"{tracking.WINDOW_TAG}{k}": str(v) for k, v in meta["training_data"]["window"].items()}
            mlflow.set_tags(tags | window)
            tracking.log_test_window(split.test)
            version = register(settings.mlflow_tracking_uri, log_recommender(model), settings.model_name)
    client = MlflowClient(settings.mlflow_tracking_uri)
    for key, value in tags.items():
        client.set_model_version_tag(settings.model_name, version, key, value)
    log.info("%s imported as %s v%s", source.name, settings.model_name, version)
    note = f"imported from {meta['provenance']['producer']} ({source.name}, manifest {verified.digest[:12]})"
    return Candidate(run.info.run_id, version, lineage, metrics, note, model, split.test)
