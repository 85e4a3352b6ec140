"""Recommendation quality and training cost.

``run()`` returns a flat dict:

- ``rr_hr20_<kind>``, ``rr_mrr20_<kind>``, ``rr_train_s_<kind>``, ``rr_eval_ms_<kind>`` (evaluation
  time per prediction) for every model on the RetailRocket week under session-rec's
  protocol (1,387 predictions; seen items not excluded; ``vstan_category`` also reads the
  week's item categories), the same for ``champion`` (``DEFAULT_FAMILY``, VSTAN), and
  ``rr_hr20_ratio_champion_to_popularity`` (the same-run reference: what a shop's default
  list scores);
- ``rr_hr20_vstan_tuned``, ``rr_mrr20_vstan_tuned``: VSTAN with the parameters a search of
  ``TUNE_BUDGET`` trials chose on the validation window (``kaizen evaluate --tune``), and
  ``rr_mrr20_ratio_vstan_tuned_to_defaults`` (the defaults were hand-tuned on this very week);
- ``rr_hr20_auto``, ``rr_mrr20_auto``: what ``train_recommender``'s defaults would register
  (``model`` auto with a search of ``TUNE_BUDGET`` trials per family);
- ``rr_hr20_best``, ``rr_mrr20_best``: the best of all of these by MRR@20, and
  ``rr_hr20_ratio_best_to_goal``, ``rr_mrr20_ratio_best_to_goal`` against issue #18's goal
  (HR@20 .79, MRR@20 .55);
- ``gen_hr20_<kind>``, ``gen_mrr20_<kind>``: the same on a generated shop (``kaizen shop
  generate``'s generator, 300k events, last 2 days as test), and ``gen_*_auto`` for the family
  the validation window chooses there;
- ``train_s_250k``, ``train_s_1m``: the champion's training time on about 250k and 1M
  generated view events, ``ratio_train_1m_to_250k`` (linear cost: about 4);
- ``score_ms_p50_1m``, ``score_ms_p99_1m``: scoring time per prefix of the 1M-event model.

Times are medians of 3. Nothing is written to disk.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from kaizen.datasets import read_retailrocket
from kaizen.models import DEFAULT_FAMILY, MODELS, Sessions
from kaizen.shop.generator import ShopSpec, generate
from kaizen.stack.demo import DEMO_DATA
from kaizen.training.dataset import sessions_of, time_split
from kaizen.training.evaluation import evaluate
from kaizen.training.protocol import evaluate_files, n_predictions, session_rec_split
from kaizen.training.tuning import choose, validation_split

TUNE_BUDGET = 40
GOAL_HR20, GOAL_MRR20 = 0.79, 0.55


def generated_views(n_events: int, seed: int = 7) -> pd.DataFrame:
    """View events of a generated shop (Zipf popularity, successor structure, 30 days), each
    with its item's catalogue category (what training reads from Feast)."""
    catalogue, chunks = generate(ShopSpec(events=n_events, seed=seed, days=30))
    events = pd.concat(list(chunks), ignore_index=True)
    events = events[events["event_type"] == "view"]
    category = events["item_id"].map(catalogue.set_index("item_id")["category_id"])
    return events.assign(event_id=np.arange(len(events)), category_id=category)


def generated_sessions(n_events: int, seed: int = 7) -> Sessions:
    return sessions_of(generated_views(n_events, seed))


def _fit_seconds(kind: str, sessions: Sessions, repeats: int = 3) -> tuple[float, object]:
    times, model = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        model = MODELS[kind]().fit(sessions)
        times.append(time.perf_counter() - started)
    return statistics.median(times), model


def retailrocket() -> dict[str, float]:
    split = session_rec_split(read_retailrocket(DEMO_DATA))
    results: dict[str, float] = {"rr_predictions": float(n_predictions(split))}
    for kind in sorted(MODELS):
        fit_s, model = _fit_seconds(kind, split.train)
        started = time.perf_counter()
        metrics = evaluate(model, split.test)
        eval_ms = (time.perf_counter() - started) / max(metrics["predictions"], 1) * 1e3
        results[f"rr_hr20_{kind}"] = metrics["hr_20"]
        results[f"rr_mrr20_{kind}"] = metrics["mrr_20"]
        results[f"rr_train_s_{kind}"] = fit_s
        results[f"rr_eval_ms_{kind}"] = eval_ms
    for key in ("hr20", "mrr20", "train_s", "eval_ms"):
        results[f"rr_{key}_champion"] = results[f"rr_{key}_{DEFAULT_FAMILY}"]
    results["rr_hr20_ratio_champion_to_popularity"] = results["rr_hr20_champion"] / results["rr_hr20_popularity"]
    for label, family in (("vstan_tuned", "vstan"), ("auto", "auto")):
        chosen = evaluate_files("retailrocket", DEMO_DATA, model=family, tune=TUNE_BUDGET)
        results[f"rr_hr20_{label}"] = chosen["hr_20"]
        results[f"rr_mrr20_{label}"] = chosen["mrr_20"]
    results["rr_mrr20_ratio_vstan_tuned_to_defaults"] = results["rr_mrr20_vstan_tuned"] / results["rr_mrr20_vstan"]
    labels = [*sorted(MODELS), "vstan_tuned", "auto"]
    best = max(labels, key=lambda label: results[f"rr_mrr20_{label}"])
    results["rr_hr20_best"], results["rr_mrr20_best"] = results[f"rr_hr20_{best}"], results[f"rr_mrr20_{best}"]
    results["rr_hr20_ratio_best_to_goal"] = results["rr_hr20_best"] / GOAL_HR20
    results["rr_mrr20_ratio_best_to_goal"] = results["rr_mrr20_best"] / GOAL_MRR20
    return results


def generated() -> dict[str, float]:
    views = generated_views(300_000)
    split = time_split(views, test_days=2)
    results: dict[str, float] = {}
    for kind in sorted(MODELS):
        metrics = evaluate(MODELS[kind]().fit(split.train), split.test)
        results[f"gen_hr20_{kind}"] = metrics["hr_20"]
        results[f"gen_mrr20_{kind}"] = metrics["mrr_20"]
    results["gen_predictions"] = metrics["predictions"]
    chosen = choose("auto", validation_split(views, split.test_start, 2), "mrr_20", tune_budget=None)
    results["gen_hr20_auto"] = results[f"gen_hr20_{chosen.family}"]
    results["gen_mrr20_auto"] = results[f"gen_mrr20_{chosen.family}"]
    return results


def training_cost() -> dict[str, float]:
    small, large = generated_sessions(250_000), generated_sessions(1_000_000)
    small_s, _ = _fit_seconds(DEFAULT_FAMILY, small)
    large_s, model = _fit_seconds(DEFAULT_FAMILY, large)
    rng = np.random.default_rng(11)
    latencies = []
    for s in rng.choice(large.n_sessions, size=300, replace=False):
        prefix = large.session(s)[: rng.integers(1, 6)]
        started = time.perf_counter()
        model.ranking_scores(prefix)
        latencies.append((time.perf_counter() - started) * 1e3)
    return {
        "events_250k": float(len(small.items)),
        "events_1m": float(len(large.items)),
        "train_s_250k": small_s,
        "train_s_1m": large_s,
        "ratio_train_1m_to_250k": large_s / small_s,
        "score_ms_p50_1m": float(np.percentile(latencies, 50)),
        "score_ms_p99_1m": float(np.percentile(latencies, 99)),
    }


def run() -> dict[str, float]:
    return {**retailrocket(), **generated(), **training_cost()}
