"""Fit a recommender on the lake's sessions, evaluate it on a time split, log it to MLflow."""

from __future__ import annotations

import logging
import time

import mlflow

from kaizen.config import Settings
from kaizen.models import MODELS
from kaizen.registry.pyfunc import log_recommender
from kaizen.training.dataset import read_events, sessions_of, time_split
from kaizen.training.evaluation import evaluate

log = logging.getLogger(__name__)


def train_and_log(settings: Settings, model: str = "sr", params: dict | None = None, test_days: float = 2.0) -> dict:
    """Evaluate ``model`` on the last ``test_days``, then fit it on everything and log it.

    Returns the MLflow run id, the logged model's URI and the test metrics.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    params = params or {}
    events = read_events(settings.lake_dir)
    if events.empty:
        raise ValueError(f"no view events in the lake at {settings.lake_dir}: run ingestion first")
    split = time_split(events, test_days)
    started = time.perf_counter()
    candidate = MODELS[model](**params).fit(split.train)
    fit_s = time.perf_counter() - started
    metrics = evaluate(candidate, split.test)
    log.info("%s on %d test predictions: %s", model, metrics["predictions"], metrics)

    final = MODELS[model](**params).fit(sessions_of(events))
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_experiment(settings.experiment)
    with mlflow.start_run(run_name=model) as run:
        mlflow.log_params({"model": model, "test_days": test_days, **candidate.params})
        mlflow.log_metrics({**metrics, "fit_s": fit_s})
        mlflow.set_tags(
            {
                "kaizen.dataset_digest": split.digest,
                "kaizen.test_start": split.test_start.isoformat(),
                "kaizen.train_sessions": str(split.train.n_sessions),
                "kaizen.items": str(final.vocabulary.size),
            }
        )
        model_uri = log_recommender(final)
    return {"run_id": run.info.run_id, "model_uri": model_uri, "metrics": metrics}
