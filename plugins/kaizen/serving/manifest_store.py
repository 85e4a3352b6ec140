"""Render a version's SeldonDeployment and keep it with the version's run in MLflow."""

from __future__ import annotations

from mlflow import MlflowClient

from kaizen.config import CHAMPION_ALIAS, Settings
from kaizen.registry.champion import PREVIOUS_CHAMPION
from kaizen.serving.manifests import seldon_deployment


def render_and_store(settings: Settings, version: str | None, strategy: str, canary_percent: int = 10) -> dict:
    registry = MlflowClient(settings.mlflow_tracking_uri)
    champion = registry.get_model_version_by_alias(settings.model_name, CHAMPION_ALIAS)
    target = registry.get_model_version(settings.model_name, version) if version else champion
    current = champion.version if champion.version != target.version else target.tags.get(PREVIOUS_CHAMPION)
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
