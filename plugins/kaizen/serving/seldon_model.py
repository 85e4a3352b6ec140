"""The Seldon Core 1 model class: serves whatever version ``@champion`` names in MLflow.

``python -m kaizen.serving.microservice kaizen.serving.seldon_model.SeldonRecommender --service-type MODEL``

Every worker polls the registry; when the alias moves it loads the new version beside
the old one and swaps a single reference, so requests in flight finish on the version
they started with and none is lost. Each response names the version in ``meta.tags``.

Request (``jsonData``)::

    {"jsonData": {"items": ["355908", "248676"], "k": 20, "session_id": "s-123", "placement": "product_page"}}

The placement decides what an answer leaves out (``requests_schema.PLACEMENTS``: a product
page never shows the item being viewed; ``category_page`` with ``category`` shows only that
category); without one, only what ``exclude_seen`` says, as the offline protocol counts.

Items the catalogue marks unavailable, and with ``category`` items of other categories,
are dropped, by Feast's ``serving_v1`` features of every item held in memory
(``item_attributes``): ``"features"`` says ``"online"``, ``"stale"`` when they are older
than ``KAIZEN_ITEM_MAX_AGE_S`` (still applied), or ``"fallback"`` when none could be loaded
yet (served unfiltered, and the server is not ready). Every answer is logged to
``prediction_log`` (KAIZEN_PREDICTION_LOG_DB_URL, a login that may only insert there),
where monitoring joins it with the clicks that follow.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass

from seldon_core.flask_utils import SeldonMicroserviceException
from seldon_core.user_model import SeldonNotImplementedError, SeldonResponse

from kaizen.config import CHAMPION_ALIAS, Settings
from kaizen.errors import BadRequest
from kaizen.models import Recommender, load_model
from kaizen.registry.client import MODEL_ARTIFACT, ModelVersion, RegistryClient
from kaizen.serving.health import FEATURES_NOT_READY, MODEL_NOT_READY
from kaizen.serving.item_attributes import STALE, Item, ItemAttributes
from kaizen.serving.prediction_log import PredictionLog
from kaizen.serving.requests_schema import parse_request
from kaizen.serving.seldon_metrics import install as install_queued_metrics
from kaizen.serving.seldon_metrics import name_labels

log = logging.getLogger(__name__)

SPARE_CANDIDATES = 20  # ranked beyond k, to fill in for items filtered out as unavailable
CATEGORY_CANDIDATES = 200  # ranked for a category placement, most of them outside the category


@dataclass(frozen=True)
class Served:
    version: str
    model: Recommender


class SeldonRecommender:
    def __init__(self):
        install_queued_metrics()  # seldon-core builds the model before gunicorn forks its workers
        self.settings = Settings.from_env()
        name_labels(self.settings)
        self.registry = RegistryClient(self.settings.mlflow_tracking_uri)
        self.served: Served | None = None
        self.last_error = ""
        self.predictions: PredictionLog | None = None
        self.attributes = ItemAttributes(
            self.settings.feature_server_url,
            self.settings.item_refresh_s,
            self.settings.item_max_age_s,
            _shared_dir(),
        )

    def load(self) -> None:
        """Called by seldon-core once per worker process: first load, then keep watching."""
        if self.settings.prediction_log_db_url:
            self.predictions = PredictionLog(self.settings.prediction_log_db_url)
        self.refresh()
        self.attributes.start(self._vocabulary)
        # Everything loaded so far lives as long as the worker: out of the collector's reach,
        # a full collection takes under a millisecond instead of ~50 ms stalls mid-traffic.
        gc.collect()
        gc.freeze()
        threading.Thread(target=self._watch, name="champion-watch", daemon=True).start()

    def refresh(self) -> None:
        """Load the champion if it differs from what is served; keep serving on any failure."""
        try:
            target = self._target()
            if target is None:
                self.last_error = f"no {self.settings.model_name}@{CHAMPION_ALIAS} registered yet"
                return
            if self.served and self.served.version == target.version:
                return
            path = self.registry.download(target.name, target.version, MODEL_ARTIFACT)
            model = load_model(path)
            # One prediction before taking traffic builds the model's item index, so the first
            # requests after a swap are not the slow ones.
            model.recommend(model.vocabulary[:1].tolist(), 1)
            self.served = Served(target.version, model)  # one reference swap: atomic for readers
            self.last_error = ""
            log.info("now serving %s version %s", target.name, target.version)
        except Exception as exc:  # a broken registry or artifact must not take serving down
            self.last_error = f"could not load the champion: {exc}"
            log.exception("champion refresh failed; still serving %s", self.served and self.served.version)

    def _target(self) -> ModelVersion | None:
        """The version to serve: the pinned one (Kubernetes predictors), else @champion."""
        name, pinned = self.settings.model_name, self.settings.serving_model_version
        if pinned:
            return ModelVersion(name, pinned, "")
        return self.registry.version_for_alias(name, CHAMPION_ALIAS)

    def _vocabulary(self) -> list[str] | None:
        served = self.served
        return served.model.vocabulary.tolist() if served else None

    def _watch(self) -> None:
        while True:
            time.sleep(self.settings.serving_poll_s)
            self.refresh()

    def predict_raw(self, request):
        """REST ``jsonData`` requests, answered without seldon-core's protobuf round trip
        (it converts JSON to a Struct and back, most of a request's cost); anything else,
        gRPC included, takes the standard path through ``predict``."""
        if not isinstance(request, dict) or "jsonData" not in request:
            raise SeldonNotImplementedError("not a REST jsonData request")
        served, data, metrics = self._recommend(request["jsonData"])
        return {"jsonData": data, "meta": {"tags": self._tags(served), "metrics": metrics}}

    def predict(self, X, features_names=None, meta=None) -> SeldonResponse:
        served, data, metrics = self._recommend(X)
        return SeldonResponse(data, tags=self._tags(served), metrics=metrics)

    def _recommend(self, payload) -> tuple[Served, dict, list[dict]]:
        """(the version that answered, the answer, Seldon custom metrics for the metrics port)."""
        served = self.served
        if served is None:
            raise SeldonMicroserviceException(
                f"no model to serve: {self.last_error}", status_code=503, reason=MODEL_NOT_READY
            )
        try:
            request = parse_request(payload, exclude_seen_default=self.settings.exclude_seen)
        except BadRequest as exc:
            raise SeldonMicroserviceException(str(exc), status_code=400, reason="BAD_REQUEST") from exc
        started = time.perf_counter()
        # Rank spare candidates, then apply the catalogue's rules to them.
        spare = CATEGORY_CANDIDATES if request.category is not None else request.k + SPARE_CANDIDATES
        ranked = served.model.recommend(list(request.items), spare + len(request.hidden), request.excludes_session)
        if request.hidden:
            ranked = [(item, score) for item, score in ranked if item not in request.hidden]
        snapshot = self.attributes.snapshot
        if snapshot is not None:
            ranked = [(item, score) for item, score in ranked if _allowed(snapshot.items.get(item), request.category)]
        ranked = ranked[: request.k]
        features = self.attributes.status(snapshot)
        data = {
            "items": [item for item, _ in ranked],
            "scores": [round(score, 6) for _, score in ranked],
            "features": features,
        }
        latency_ms = (time.perf_counter() - started) * 1000
        if self.predictions:
            self.predictions.record(
                request.session_id,
                request.items,
                data["items"],
                self.settings.model_name,
                served.version,
                latency_ms,
                features,
            )
        metrics = [{"type": "TIMER", "key": "kaizen_predict_seconds", "value": latency_ms}]  # ms, exposed in s
        if served.version.isdigit():  # MLflow's versions are; a hand-pinned one might not be
            metrics.append({"type": "GAUGE", "key": "kaizen_served_model_version", "value": float(served.version)})
        if snapshot is None:
            metrics.append({"type": "COUNTER", "key": "kaizen_feature_fallbacks_total", "value": 1})
        else:
            metrics.append({"type": "GAUGE", "key": "kaizen_item_attributes_age_seconds", "value": snapshot.age_s()})
        if features == STALE:
            metrics.append({"type": "COUNTER", "key": "kaizen_stale_feature_answers_total", "value": 1})
        if self.predictions and (dropped := self.predictions.newly_dropped()):
            metrics.append({"type": "COUNTER", "key": "kaizen_prediction_log_dropped_total", "value": dropped})
        for metric in metrics:  # the version that answered: dashboards split by it
            metric["tags"] = {"model_version": served.version}
        return served, data, metrics

    def health_status(self) -> dict:
        """Ready when a model is served with item attributes within their staleness bound."""
        served = self.served
        if served is None:
            raise SeldonMicroserviceException(self.last_error or "loading", status_code=503, reason=MODEL_NOT_READY)
        problem = self.attributes.problem()
        if problem:
            raise SeldonMicroserviceException(problem, status_code=503, reason=FEATURES_NOT_READY)
        return {"model_version": served.version, "item_attributes_age_s": round(self.attributes.snapshot.age_s(), 1)}

    def tags(self) -> dict:
        return self._tags(self.served)

    def _tags(self, served: Served | None) -> dict:
        return {"model_name": self.settings.model_name, "model_version": served.version if served else ""}


def _allowed(item: Item | None, category: str | None) -> bool:
    """The catalogue's rules: available, and in the requested category if there is one. An
    item the snapshot does not hold yet (a new model's, until the next refresh) has no rule
    against it, but cannot be shown as in a category."""
    if item is None:
        return category is None
    return item.available and (category is None or item.category == category)


def _shared_dir() -> str:
    """A private directory for the item-attribute snapshot, shared by the server's processes
    (made before seldon-core forks them), removed when the process that made it exits."""
    path, owner = tempfile.mkdtemp(prefix="kaizen-model-server-"), os.getpid()
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(path, ignore_errors=True))
    return path
