import numpy as np

from kaizen.models import Recommender, Sessions
from kaizen.training.evaluation import evaluate, metrics_from_ranks


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
