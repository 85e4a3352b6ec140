import numpy as np
import pytest

from kaizen.models import Popularity, SequentialRules, Sessions, load_model
from kaizen.registry.pyfunc import log_recommender


@pytest.fixture
def sessions() -> Sessions:
    # Session 1: a b c; session 2: a b; session 3: b (events given out of time order).
    return Sessions.from_events(
        session_ids=[2, 1, 1, 1, 2, 3],
        item_ids=["b", "a", "b", "c", "a", "b"],
        times=[6, 1, 2, 3, 5, 7],
    )


def test_sessions_are_ordered_by_start_then_time(sessions):
    assert sessions.vocabulary.tolist() == ["a", "b", "c"]
    assert [sessions.vocabulary[sessions.session(s)].tolist() for s in range(3)] == [["a", "b", "c"], ["a", "b"], ["b"]]


def test_unknown_items_are_dropped_against_a_vocabulary(sessions):
    test = Sessions.from_events([9, 9, 9], ["a", "zzz", "c"], [1, 2, 3], vocabulary=sessions.vocabulary)
    assert sessions.vocabulary[test.items].tolist() == ["a", "c"]


def test_sequential_rules_hand_computed(sessions):
    model = SequentialRules(steps=2).fit(sessions)
    # a->b: 1 (s1) + 1 (s2); a->c: 1/2 (s1); b->c: 1 (s1).
    assert model.scores(np.array([0])).tolist() == [0.0, 2.0, 0.5]
    assert model.scores(np.array([1])).tolist() == [0.0, 0.0, 1.0]
    assert [item for item, _ in model.recommend(["a"], k=2)] == ["b", "c"]


def test_popularity_fills_cold_sessions(sessions):
    model = SequentialRules().fit(sessions)
    assert [item for item, _ in model.recommend(["never-seen"], k=3)] == ["b", "a", "c"]
    assert [item for item, _ in Popularity().fit(sessions).recommend(["a"], k=1)] == ["b"]


def test_exclude_seen(sessions):
    model = SequentialRules().fit(sessions)
    assert "a" not in [item for item, _ in model.recommend(["a", "b"], k=3, exclude_seen=True)]


def test_saved_model_loads_with_the_same_answers(sessions, tmp_path):
    model = SequentialRules(steps=3).fit(sessions)
    loaded = load_model(model.save(tmp_path))
    assert isinstance(loaded, SequentialRules)
    assert loaded.params == {"steps": 3}
    assert loaded.recommend(["a", "b"], k=3) == model.recommend(["a", "b"], k=3)


def test_a_model_saved_under_another_name_is_not_logged(sessions, monkeypatch):
    """The model server downloads artifacts/model.npz: a version without it could never be served."""
    model = Popularity().fit(sessions)
    save = model.save
    monkeypatch.setattr(model, "save", lambda directory: save(directory).rename(directory / "other.npz"))
    with pytest.raises(ValueError, match=r"saved other\.npz, but the model server loads model\.npz"):
        log_recommender(model)
