"""The search for a family and its parameters (kaizen.training.tuning) on generated shops:
it finds what an exhaustive search finds, never reads the test window, keeps to its time
budget, and lets the data choose the family."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from conftest import RETAILROCKET
from kaizen.config import Settings
from kaizen.models import MODELS
from kaizen.shop.generator import ShopSpec, generate
from kaizen.training import tuning
from kaizen.training.dataset import time_split
from kaizen.training.evaluation import evaluate
from kaizen.training.options import TrainOptions
from kaizen.training.train import choose_model


@pytest.fixture(scope="module")
def shop_views() -> pd.DataFrame:
    """Views of a generated shop: next views follow each item's successors, so order matters."""
    _, chunks = generate(ShopSpec(events=60_000, seed=3, days=20))
    events = pd.concat(list(chunks), ignore_index=True)
    events = events[events["event_type"] == "view"]
    return events.assign(event_id=np.arange(len(events)))


@pytest.fixture(scope="module")
def validation(shop_views):
    split = time_split(shop_views, test_days=2)
    return tuning.validation_split(shop_views, split.test_start, days=2)


def settings(tmp_path, seconds: float = 600) -> Settings:
    base = Settings.from_env({"KAIZEN_HOME": str(tmp_path / "home"), "KAIZEN_LAKE_DIR": str(tmp_path / "lake")})
    return dataclasses.replace(base, tuning_seconds=seconds)


def test_tuning_finds_the_parameters_the_shop_was_made_with(validation):
    """The generator makes each next view a successor of the current item: SLIST's transition
    part (alpha near 0) and the last item's weight (a small predict_weight) must win, as an
    exhaustive grid confirms; the search starts from the defaults (alpha .95, weight 4)."""

    def val_mrr(**params) -> float:
        return evaluate(MODELS["slist"](**params).fit(validation.train), validation.test)["mrr_20"]

    grid = {(a, w): val_mrr(alpha=a, predict_weight=w) for a in (0.0, 0.5, 1.0) for w in (0.25, 1.0, 4.0)}
    assert max(grid, key=grid.get) == (0.0, 0.25), grid

    trials = tuning.tune("slist", validation, budget=12, primary="mrr_20")
    best = max(trials, key=lambda t: t.score)
    assert len(trials) == 12 and trials[0].params == tuning.defaults("slist"), "the defaults are the first trial"
    assert best.params["alpha"] <= 0.25 and best.params["predict_weight"] <= 1.0, best
    assert best.score >= max(grid.values()) - 0.01 > trials[0].score


def test_the_search_never_reads_the_test_window(shop_views, tmp_path):
    """Garbage in the test window (every item replaced) changes nothing the search sees or chooses."""
    split = time_split(shop_views, test_days=2)
    session_end = shop_views.groupby("session_id")["occurred_at"].transform("max")
    in_test = session_end >= split.test_start
    garbage = shop_views.assign(
        item_id=np.where(in_test, "garbage-" + shop_views["event_id"].astype(str), shop_views["item_id"])
    )
    options = TrainOptions(model="auto", tune=True, tuning_budget=3)

    clean = choose_model(settings(tmp_path), options, shop_views, split)
    dirty = choose_model(settings(tmp_path), options, garbage, time_split(garbage, test_days=2))
    assert clean == dirty
    assert len(clean.trials) == 3 + 3 + 3 + 3 + 1 and clean.searched, "markov has nothing to tune: one trial"


def test_the_data_chooses_the_family(validation):
    """On this shop the next view follows the current item: the rules beat the neighbourhoods."""
    choice = tuning.choose("auto", validation, "mrr_20", tune_budget=None)
    compared = choice.compared
    assert set(compared) == {"vstan_category", "vstan", "slist", "sr", "markov"}
    assert choice.family == max(compared, key=compared.get) and choice.family in ("markov", "sr")
    best = f"{compared[choice.family]:.3f}".removeprefix("0")
    assert choice.note("mrr_20").startswith(f"chosen on validation, MRR@20 {best} over "), choice.note("mrr_20")
    assert not choice.searched


def test_a_pinned_family_without_tuning_is_not_searched(shop_views, tmp_path):
    split = time_split(shop_views, test_days=2)
    choice = choose_model(settings(tmp_path), TrainOptions(model="sr", params={"steps": 4}), shop_views, split)
    assert (choice.family, choice.params, choice.trials) == ("sr", {"steps": 4}, [])


def test_the_time_budget_stops_the_search(validation):
    trials = tuning.tune("vstan", validation, budget=50, primary="mrr_20", seconds=0.0)
    assert len(trials) == 1, "the first trial always runs; no second starts after the budget"


def test_kaizen_evaluate_tunes_on_a_validation_window(tmp_path):
    from kaizen.training.protocol import evaluate_files

    tuned = evaluate_files("retailrocket", RETAILROCKET, model="sr", tune=4)
    assert tuned["search"]["trials"] == 4 and set(tuned["search"]["validation_mrr_20"]) == {"sr"}
    assert tuned["predictions"] == 1387, "the test set is the protocol's, untouched by the search"


def test_a_search_keeps_the_defaults_unless_a_trial_beats_them_beyond_the_noise():
    rng = np.random.default_rng(0)
    defaults = rng.random(2000) < 0.5
    luck = defaults.copy()
    luck[rng.choice(2000, 6, replace=False)] = True  # a handful of predictions flip: noise
    better = defaults | (rng.random(2000) < 0.2)  # a real gain
    trial = lambda values, i: tuning.Trial("sr", {"steps": i}, float(values.mean()), values.astype(float))  # noqa: E731
    trials = [trial(defaults, 10), *(trial(defaults, i) for i in range(2, 9)), trial(luck, 1)]
    assert tuning.beyond_noise(trials).params == {"steps": 10}
    assert tuning.beyond_noise([*trials, trial(better, 3)]).params == {"steps": 3}
