"""seldon-core's custom metrics, handed over once a second instead of once per request.

seldon-core keeps custom metrics in a ``multiprocessing.Manager`` shared by the gunicorn
workers, and ``SeldonMetrics.update`` runs after every prediction: about six round trips
to the manager process, even for a request that reports no metric. On two cores that was
a quarter of the model server's throughput (bench/serving.py). ``install`` makes each
worker queue its metrics and a thread publish them, in seldon-core's format, with one read
and one write per second; the metrics port's ``/metrics`` lags by at most that second.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np
from seldon_core import metrics as seldon
from seldon_core.env_utils import NONIMPLEMENTED_MSG
from seldon_core.metrics import BINS, COUNTER, GAUGE, TIMER, SeldonMetrics

from kaizen.config import Settings
from kaizen.serving.manifests import DEPLOYMENT, MAIN_PREDICTOR

log = logging.getLogger(__name__)

FLUSH_S = 1.0

_original_clear = SeldonMetrics.clear
_lock = threading.Lock()  # guards the queue
_publishing = threading.Lock()  # held while writing to the manager; clear() waits for it
_pending: list[tuple[SeldonMetrics, list[dict], str]] = []
_flusher_pid: int | None = None
_cleared = False  # this worker is exiting: publish nothing more


def install() -> None:
    """Route ``SeldonMetrics.update`` through the per-worker queue (idempotent)."""
    SeldonMetrics.update = _queued_update
    SeldonMetrics.clear = _clear


def name_labels(settings: Settings) -> None:
    """Give every metric labels that say what is served, instead of seldon-core's defaults
    (``model_name="NOT_IMPLEMENTED"`` outside a SeldonDeployment, the image's tag as
    ``model_version``): the registered model's name, the deployment and predictor (Seldon's
    operator sets them on Kubernetes; elsewhere the names the manifests use). The registry
    version changes while the server runs, so each metric carries it (``model_version`` tag)
    rather than a default. Call before seldon-core forks its metrics server."""
    labels = seldon.DEFAULT_LABELS
    deployment = os.environ.get("SELDON_DEPLOYMENT_ID", DEPLOYMENT)
    labels.update(
        model_name=settings.model_name,
        deployment_name=deployment,
        seldon_deployment_name=deployment,
        predictor_name=os.environ.get("PREDICTOR_ID", MAIN_PREDICTOR),
    )
    labels.pop("model_version", None)
    for key in [k for k, v in labels.items() if v == NONIMPLEMENTED_MSG]:
        del labels[key]


def _clear(self: SeldonMetrics) -> None:
    """seldon-core's worker-exit hook: drop the queue first, so that a flush after it cannot
    bring back the exiting worker's series (a stale model version on the dashboard)."""
    global _cleared
    with _lock:
        _cleared = True
        _pending.clear()
    with _publishing:
        _original_clear(self)


def _queued_update(self: SeldonMetrics, custom_metrics: list[dict], method: str) -> None:
    global _flusher_pid
    if not custom_metrics:
        return
    with _lock:
        if _cleared:
            return
        _pending.append((self, custom_metrics, method))
        if _flusher_pid != os.getpid():  # threads do not survive gunicorn's fork: one per worker
            _flusher_pid = os.getpid()
            threading.Thread(target=_flush_forever, name="seldon-metrics", daemon=True).start()


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_S)
        try:
            flush()
        except Exception:  # the thread must outlive any one bad batch, or the queue grows forever
            log.exception("publishing custom metrics failed")


def flush() -> None:
    """Publish everything queued: one read and one write of the manager per metrics store."""
    with _publishing:
        with _lock:
            if _cleared:
                return
            batch = _pending[:]
            _pending.clear()
        _publish_batch(batch)


def _publish_batch(batch: list[tuple[SeldonMetrics, list[dict], str]]) -> None:
    grouped: dict[int, tuple[SeldonMetrics, list[tuple[dict, str]]]] = {}
    for store, metrics, method in batch:
        grouped.setdefault(id(store), (store, []))[1].extend((m, method) for m in metrics)
    for store, metrics in grouped.values():
        try:
            _publish(store, metrics)
        except Exception:  # the manager gone (worker exit): metrics are best effort
            log.exception("could not publish %d custom metrics", len(metrics))


def _publish(store: SeldonMetrics, metrics: list[tuple[dict, str]]) -> None:
    """What ``SeldonMetrics.update`` does for one metric, for a batch: counters add up,
    gauges keep the last value, timers (milliseconds) fill seldon-core's histogram."""
    worker = store.worker_id_func()
    with store._lock:
        data = store.data.get(worker, {})
    timers: dict[tuple, tuple[dict, list[float]]] = {}
    for metric, method in metrics:
        kind, tags = metric.get("type", COUNTER), {**metric.get("tags", {}), "method": method}
        key = (kind, metric["key"], SeldonMetrics._generate_tags_key(tags))
        if kind == COUNTER:
            data[key] = {"value": data.get(key, {}).get("value", 0) + metric["value"], "tags": tags}
        elif kind == GAUGE:
            data[key] = {"value": metric["value"], "tags": tags}
        elif kind == TIMER:
            timers.setdefault(key, (tags, []))[1].append(metric["value"] / 1000)
        else:
            log.error("unknown Seldon metric type %r", kind)
    for key, (tags, seconds) in timers.items():
        counts, total = data.get(key, {}).get("value", (np.zeros(len(BINS) - 1), 0.0))
        data[key] = {
            "value": (list(np.asarray(counts) + np.histogram(seconds, BINS)[0]), total + sum(seconds)),
            "tags": tags,
        }
    with store._lock:
        store.data[worker] = data


def _reset_after_fork() -> None:
    global _lock, _publishing, _cleared
    _lock, _publishing = threading.Lock(), threading.Lock()  # copies of locks held at fork time stay held
    _pending.clear()
    _cleared = False


os.register_at_fork(after_in_child=_reset_after_fork)
