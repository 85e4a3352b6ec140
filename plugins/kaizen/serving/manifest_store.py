"""Render a version's SeldonDeployment and keep it with the version's run in MLflow."""

from __future__ import annotations

from mlflow import MlflowClient

from kaizen.config import Settings
from kaizen.registry import tags
from kaizen.serving.manifests import seldon_deployment
from kaizen.serving.rollout import current_champion


def render_and_store(settings: Settings, version: str | None, strategy: str, canary_percent: int = 10) -> dict:
    registry = MlflowClient(settings.mlflow_tracking_uri)
    champion = current_champion(settings)  # read as every alias reader does: kaizen.registry.champion
    target = registry.get_model_version(settings.model_name, version or champion)
    current = champion if champion != str(target.version) else target.tags.get(tags.PREVIOUS_CHAMPION)
    manifest = seldon_deployment(
        strategy=strategy,
        new_version=str(target.version),
        current_version=current,
        image=settings.model_server_image,
        model_name=settings.model_name,
        tracking_uri=settings.mlflow_tracking_uri,
        canary_percent=canary_percent,
    )
    artifact = f"seldon/{strategy}-v{target.version}.yaml"
    registry.log_dict(target.run_id, manifest, artifact)
    return {"version": str(target.version), "strategy": strategy, "artifact": artifact, "manifest": manifest}
