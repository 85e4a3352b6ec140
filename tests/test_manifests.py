"""SeldonDeployment manifests, checked against the CRD's structure for the fields we set."""

import jsonschema
import pytest

from kaizen.serving.manifests import seldon_deployment

# The parts of the machinelearning.seldon.io/v1 SeldonDeployment CRD (openAPIV3Schema)
# that Kaizen's manifests use, with the CRD's types and required fields.
CONTAINER = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "image": {"type": "string"},
        "env": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
            },
        },
        "resources": {"type": "object"},
        "readinessProbe": {"type": "object"},
        "livenessProbe": {"type": "object"},
    },
}
GRAPH = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "type": {"enum": ["UNKNOWN_TYPE", "ROUTER", "COMBINER", "MODEL", "TRANSFORMER", "OUTPUT_TRANSFORMER"]},
        "endpoint": {"type": "object", "properties": {"type": {"enum": ["REST", "GRPC"]}}},
        "children": {"type": "array"},
    },
}
PREDICTOR = {
    "type": "object",
    "required": ["name", "graph"],
    "properties": {
        "name": {"type": "string"},
        "replicas": {"type": "integer", "minimum": 0},
        "traffic": {"type": "integer", "minimum": 0, "maximum": 100},
        "shadow": {"type": "boolean"},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "graph": GRAPH,
        "componentSpecs": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object",
                        "required": ["containers"],
                        "properties": {"containers": {"type": "array", "items": CONTAINER}},
                    }
                },
            },
        },
    },
    "additionalProperties": False,
}
SELDON_DEPLOYMENT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "machinelearning.seldon.io/v1"},
        "kind": {"const": "SeldonDeployment"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["predictors"],
            "properties": {
                "name": {"type": "string"},
                "protocol": {"enum": ["seldon", "tensorflow", "kfserving", "v2"]},
                "predictors": {"type": "array", "minItems": 1, "items": PREDICTOR},
            },
        },
    },
}


def render(strategy, **kw):
    return seldon_deployment(
        strategy=strategy,
        new_version="7",
        current_version=kw.pop("current", "6"),
        image="kaizen/model-server:1",
        model_name="kaizen-recommender",
        tracking_uri="http://mlflow:5000",
        **kw,
    )


@pytest.mark.parametrize("strategy", ["replace", "canary", "shadow"])
def test_manifests_fit_the_crd(strategy):
    jsonschema.validate(render(strategy), SELDON_DEPLOYMENT)


def test_canary_splits_traffic_and_shadow_mirrors():
    canary = render("canary", canary_percent=20)["spec"]["predictors"]
    assert [(p["name"], p["traffic"], p["labels"]["kaizen/model-version"]) for p in canary] == [
        ("default", 80, "6"),
        ("canary", 20, "7"),
    ]
    shadow = render("shadow")["spec"]["predictors"]
    assert shadow[1]["shadow"] is True and shadow[1]["labels"]["kaizen/model-version"] == "7"
    assert sum(p.get("traffic", 0) for p in shadow if not p.get("shadow")) == 100


def test_bad_manifest_requests_are_refused():
    with pytest.raises(ValueError, match="needs a current version"):
        render("canary", current=None)
    with pytest.raises(ValueError, match="unknown strategy"):
        render("blue-green")
