"""A partner's model in: verified, registered as a challenger with its origin, then judged by
the same gate as Kaizen's own models, on Kaizen's own data.

Nothing is registered unless the bundle is intact (its manifest), fits (feature services,
training data schema, a model kind the model server loads) and Kaizen's lake holds a test
window to score it on. The partner's own metrics travel along as ``partner_*`` metrics; the
gate decides only on the local ones.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from kaizen.config import Settings
from kaizen.errors import UpstreamMissing
from kaizen.handover import bundle, compatibility
from kaizen.registry.champion import keep_as_challenger, register
from kaizen.training import tracking
from kaizen.training.dataset import read_window, time_split
from kaizen.training.evaluation import evaluate
from kaizen.training.lineage import Lineage, TrainingWindow
from kaizen.training.options import TrainOptions
from kaizen.training.train import Candidate

log = logging.getLogger(__name__)

EXPERIMENT = "kaizen-handover"  # the intake's runs, apart from the training experiment
TAG = "kaizen.handover."  # provenance tags on the run and the version


def provenance_tags(verified: bundle.Bundle, source: Path) -> dict[str, str]:
    origin = verified.metadata["provenance"]
    model = verified.metadata["model"]
    return {
        f"{TAG}producer": origin["producer"],
        f"{TAG}exported_at": origin["exported_at"],
        f"{TAG}source": f"{origin['tracking_uri']} {model['name']} v{model['version']} (run {origin['run_id']})",
        f"{TAG}code_version": str(origin.get("code_version")),
        f"{TAG}bundle": source.name,
        f"{TAG}manifest_sha256": verified.digest,
    }


def newest_bundle(settings: Settings) -> Path:
    """The most recently written model bundle in KAIZEN_HANDOVER_DIR (what a partner dropped there)."""
    bundles = [p for p in settings.handover_dir.glob("*.tar.gz") if not p.name.startswith(bundle.SNAPSHOT_PREFIX)]
    found = sorted(bundles, key=lambda p: p.stat().st_mtime)
    if not found:
        raise UpstreamMissing(f"no model bundle in {settings.handover_dir}: put one there or name its path")
    return found[-1]


def import_bundle(settings: Settings, source: Path, options: TrainOptions | None = None) -> Candidate:
    """Verify ``source``, score its model on the lake's test window (``options``' days), register
    it as ``@challenger``; the candidate for the gate (``kaizen.training.train.gate_candidate``)."""
    options = options or TrainOptions()
    with tempfile.TemporaryDirectory(prefix="kaizen-import-") as tmp:
        verified = bundle.open_bundle(source, Path(tmp))
        model = compatibility.check(settings, verified)
        events = read_window(settings.lake_dir, options.train_days + options.test_days)
        split = time_split(events, options.test_days, settings.eval_max_sessions)
        if split.test.n_sessions == 0:
            raise UpstreamMissing(
                f"the lake's last {options.test_days} days hold no test session to judge the model on"
            )
        metrics = evaluate(model, split.test)
        origin = verified.metadata["provenance"]
        trained_on = next(iter(verified.metadata["feature_services"]))
        lineage = Lineage(
            model.kind,
            model.params,
            TrainingWindow.of(events, split, test_predictions=int(metrics["predictions"])),
            feature_service=trained_on,
            code_version=str(origin.get("code_version")),
        )
        tags = provenance_tags(verified, source)
        mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
        mlflow.set_experiment(EXPERIMENT)
        with mlflow.start_run(run_name=f"{model.kind}-from-{origin['producer']}") as run:
            mlflow.log_artifacts(str(verified.path(compatibility.MODEL_DIR)), compatibility.MODEL_DIR)
            for name in (bundle.METADATA, bundle.MANIFEST, verified.metadata.get("model_card")):
                if name:
                    mlflow.log_artifact(str(verified.path(name)), "handover")
            mlflow.log_params({"model": model.kind, "test_days": options.test_days, **model.params})
            mlflow.log_metrics(
                metrics
                | {f"partner_{k}": v for k, v in verified.metadata["metrics"].items() if isinstance(v, int | float)}
            )
            mlflow.set_tags(tags | {"kaizen.feature_service": trained_on})
            tracking.log_test_window(split.test)
            version = register(
                settings.mlflow_tracking_uri, f"runs:/{run.info.run_id}/{compatibility.MODEL_DIR}", settings.model_name
            )
    client = MlflowClient(settings.mlflow_tracking_uri)
    for key, value in (tags | {"kaizen.feature_service": trained_on}).items():
        client.set_model_version_tag(settings.model_name, version, key, value)
    keep_as_challenger(settings.mlflow_tracking_uri, settings.model_name, version)
    log.info("%s imported as %s v%s (@challenger)", source.name, settings.model_name, version)
    note = f"imported from {origin['producer']} ({source.name}, manifest {verified.digest[:12]})"
    return Candidate(run.info.run_id, version, lineage, metrics, note, model, split.test)
