import numpy as np
import pytest

from kaizen.models import Recommender, Sessions
from kaizen.training.evaluation import evaluate, metrics_from_ranks, per_prediction


def test_metrics_from_hand_computed_ranks():
    # Ranks 0, 1 and 25: HR@5 = 2/3, MRR@5 = (1 + 1/2) / 3, HR@20 = 2/3, nothing beyond 20 counts.
    metrics = metrics_from_ranks(np.array([0, 1, 25]), cutoffs=(5, 20))
    assert metrics["predictions"] == 3
    assert metrics["hr_5"] == 2 / 3
    assert metrics["mrr_5"] == (1 + 0.5) / 3
    assert metrics["hr_20"] == 2 / 3


class Fixed(Recommender):
    """Always ranks items in vocabulary order: a, b, c, d."""

    kind = "test-fixed"

    def _fit(self, sessions):
        pass

    def scores(self, prefix):
        return -np.arange(len(self.vocabulary), dtype=float)


def test_every_position_predicts_the_next_item():
    train = Sessions.from_events([1, 1, 1, 1], ["a", "b", "c", "d"], [1, 2, 3, 4])
    model = Fixed().fit(train)
    test = Sessions.from_events([5, 5, 5], ["a", "c", "b"], [1, 2, 3], vocabulary=train.vocabulary)
    # Targets c (rank 2) then b (rank 1): two predictions.
    metrics = evaluate(model, test, cutoffs=(1, 2, 3))
    assert metrics["predictions"] == 2
    assert metrics["hr_1"] == 0.0
    assert metrics["hr_2"] == 0.5
    assert metrics["mrr_3"] == (1 / 3 + 1 / 2) / 2


def test_ndcg_from_hand_computed_ranks():
    # One relevant item: NDCG = 1 / log2(rank + 2) inside the cutoff.
    metrics = metrics_from_ranks(np.array([0, 1, 25]), cutoffs=(5, 30))
    assert metrics["ndcg_5"] == pytest.approx((1 + 1 / np.log2(3)) / 3)
    assert metrics["ndcg_30"] == pytest.approx((1 + 1 / np.log2(3) + 1 / np.log2(27)) / 3)


def test_new_target_coverage_and_popularity_metrics():
    # Training popularity: a 3, b 2, c 1, d 1 (normalised: 1, 2/3, 1/3, 1/3).
    train = Sessions.from_events([1, 1, 1, 1, 2, 2, 2], ["a", "b", "c", "d", "a", "a", "b"], range(7))
    model = Fixed().fit(train)  # top lists are always a, b, c, d
    # Test session a c a b: targets c (rank 2, new), a (rank 0, already seen), b (rank 1, new).
    test = Sessions.from_events([9] * 4, ["a", "c", "a", "b"], [1, 2, 3, 4], vocabulary=train.vocabulary)
    metrics = evaluate(model, test, cutoffs=(1, 2, 3))
    assert metrics["predictions"] == 3
    assert metrics["hr_1"] == pytest.approx(1 / 3) and metrics["hr_2"] == pytest.approx(2 / 3)
    assert metrics["mrr_3"] == pytest.approx((1 / 3 + 1 + 1 / 2) / 3)
    assert metrics["ndcg_3"] == pytest.approx((1 / np.log2(4) + 1 + 1 / np.log2(3)) / 3)
    assert metrics["new_predictions"] == 2
    assert metrics["new_hr_1"] == 0.0 and metrics["new_hr_2"] == 0.5
    assert metrics["new_mrr_3"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert metrics["new_ndcg_3"] == pytest.approx((1 / np.log2(4) + 1 / np.log2(3)) / 2)
    # Coverage@K: the distinct items of all top-K lists over the 4 items.
    assert [metrics[f"coverage_{k}"] for k in (1, 2, 3)] == [0.25, 0.5, 0.75]
    # Popularity@K: mean normalised popularity of each top-K list, averaged over predictions.
    assert metrics["popularity_1"] == pytest.approx(1.0)
    assert metrics["popularity_2"] == pytest.approx((1 + 2 / 3) / 2)
    assert metrics["popularity_3"] == pytest.approx((1 + 2 / 3 + 1 / 3) / 3)


def test_evaluate_reports_every_metric_for_every_cutoff():
    train = Sessions.from_events([1, 1, 2, 2], ["a", "b", "b", "c"], [1, 2, 3, 4])
    test = Sessions.from_events([5, 5, 5], ["a", "b", "c"], [1, 2, 3], vocabulary=train.vocabulary)
    metrics = evaluate(Fixed().fit(train), test)
    for k in (5, 10, 20):
        for name in ("hr", "mrr", "ndcg", "new_hr", "new_mrr", "new_ndcg", "coverage", "popularity"):
            assert isinstance(metrics[f"{name}_{k}"], float)


def test_per_prediction_values_average_to_the_metric():
    ranks = np.array([0, 1, 4, 19, 20, 150])
    metrics = metrics_from_ranks(ranks, cutoffs=(20,))
    for metric in ("hr_20", "mrr_20", "ndcg_20"):
        assert per_prediction(ranks, metric).mean() == pytest.approx(metrics[metric])
