"""SeldonDeployment manifests (Seldon Core 1, ``machinelearning.seldon.io/v1``) for Kubernetes.

The same microservice image as the embedded stack and compose serve one registry version
per predictor (``KAIZEN_MODEL_VERSION`` pins it; the embedded server follows @champion):

- ``replace``: one predictor with the new version;
- ``canary``: the current version and the new one, with traffic weights;
- ``shadow``: the new version receives a copy of every request, its answers discarded
  (needs Istio, as Seldon's shadow deployments do).
"""

from __future__ import annotations

STRATEGIES = ("replace", "canary", "shadow")
API_VERSION = "machinelearning.seldon.io/v1"
# The names Terraform gives the SeldonDeployment, its main predictor and the Secret that holds
# MLflow's credentials (infra/terraform/seldon.tf, secrets.tf): the "model-server" Service
# selects the main predictor's pods (label seldon-app=<deployment>-<predictor>).
DEPLOYMENT = "model-server"
MAIN_PREDICTOR = "default"
CREDENTIALS_SECRET = "kaizen-env"


def _from_secret(name: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": CREDENTIALS_SECRET, "key": name}}}


def predictor(name: str, image: str, model_name: str, version: str, tracking_uri: str, replicas: int, **extra) -> dict:
    return {
        "name": name,
        "replicas": replicas,
        "annotations": {"seldon.io/no-engine": "false"},
        "labels": {"kaizen/model-version": version},
        "graph": {"name": "recommender", "type": "MODEL", "endpoint": {"type": "REST"}, "children": []},
        "componentSpecs": [
            {
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 8888},
                    "containers": [
                        {
                            "name": "recommender",
                            "image": image,
                            "env": [
                                {"name": "MLFLOW_TRACKING_URI", "value": tracking_uri},
                                _from_secret("MLFLOW_TRACKING_USERNAME"),
                                _from_secret("MLFLOW_TRACKING_PASSWORD"),
                                {"name": "KAIZEN_MODEL_NAME", "value": model_name},
                                {"name": "KAIZEN_MODEL_VERSION", "value": version},
                            ],
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "256Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi"},
                            },
                            "readinessProbe": {"httpGet": {"path": "/health/status", "port": 9000}, "periodSeconds": 5},
                            "livenessProbe": {"httpGet": {"path": "/health/ping", "port": 9000}, "periodSeconds": 10},
                        }
                    ],
                }
            }
        ],
        **extra,
    }


def seldon_deployment(
    *,
    strategy: str,
    new_version: str,
    current_version: str | None,
    image: str,
    model_name: str,
    tracking_uri: str,
    namespace: str = "kaizen",
    canary_percent: int = 10,
    replicas: int = 2,
) -> dict:
    """The manifest for ``strategy``; canary and shadow need a current version beside the new one."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
    if strategy != "replace" and not current_version:
        raise ValueError(f"a {strategy} deployment needs a current version to run beside v{new_version}")
    if not 0 < canary_percent < 100:
        raise ValueError("canary_percent must be between 1 and 99")
    common = {"image": image, "model_name": model_name, "tracking_uri": tracking_uri}
    if strategy == "replace":
        predictors = [predictor(MAIN_PREDICTOR, version=new_version, replicas=replicas, traffic=100, **common)]
    elif strategy == "canary":
        predictors = [
            predictor(
                MAIN_PREDICTOR, version=current_version, replicas=replicas, traffic=100 - canary_percent, **common
            ),
            predictor("canary", version=new_version, replicas=1, traffic=canary_percent, **common),
        ]
    else:
        predictors = [
            predictor(MAIN_PREDICTOR, version=current_version, replicas=replicas, traffic=100, **common),
            predictor("shadow", version=new_version, replicas=1, shadow=True, **common),
        ]
    return {
        "apiVersion": API_VERSION,
        "kind": "SeldonDeployment",
        "metadata": {"name": DEPLOYMENT, "namespace": namespace, "labels": {"app": "kaizen"}},
        "spec": {"name": DEPLOYMENT, "protocol": "seldon", "predictors": predictors},
    }
