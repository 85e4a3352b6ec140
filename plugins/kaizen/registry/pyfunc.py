"""The recommender as an MLflow pyfunc model, with the numpy artifact the model server loads."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType, Schema
from mlflow.types.schema import Array

from kaizen.models import Recommender, load_model
from kaizen.models.base import ARTIFACT_FILE

ARTIFACT_KEY = "recommender"
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec(Array(DataType.string), "items"), ColSpec(DataType.long, "k", required=False)]),
    outputs=Schema([ColSpec(Array(DataType.string), "items")]),
)
INPUT_EXAMPLE = pd.DataFrame({"items": [["1", "2"]], "k": [20]})


class RecommenderPyfunc(mlflow.pyfunc.PythonModel):
    """``mlflow.pyfunc.load_model(uri).predict(DataFrame(items=[[...]], k=[20]))``."""

    def load_context(self, context):
        self.model = load_model(Path(context.artifacts[ARTIFACT_KEY]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        ks = model_input["k"] if "k" in model_input else [20] * len(model_input)
        return pd.DataFrame(
            {
                "items": [
                    [i for i, _ in self.model.recommend(list(items), int(k))]
                    for items, k in zip(model_input["items"], ks, strict=True)
                ]
            }
        )


def log_recommender(model: Recommender, name: str = "model") -> str:
    """Log the model in the active run; returns its model URI. The server reads ``artifacts/model.npz``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save(Path(tmp))
        if path.name != ARTIFACT_FILE:
            raise ValueError(f"{type(model).__name__} saved {path.name}, but the model server loads {ARTIFACT_FILE}")
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=RecommenderPyfunc(),
            artifacts={ARTIFACT_KEY: str(path)},
            signature=SIGNATURE,
            input_example=INPUT_EXAMPLE,
        )
    return info.model_uri
