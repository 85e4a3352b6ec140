"""What the model server accepts and refuses, before any model sees it (unit test)."""

import numpy as np
import pytest

from kaizen.errors import BadRequest
from kaizen.serving.requests_schema import MAX_ID_LENGTH, MAX_ITEMS, parse_request


def test_json_data_request():
    request = parse_request({"items": ["1", 2, 3.0], "k": 5.0, "exclude_seen": True, "category": 1277.0})
    assert request.items == ("1", "2", "3")
    assert request.k == 5
    assert request.exclude_seen is True
    assert request.category == "1277"
    assert parse_request({"items": ["1"]}).category is None
    assert parse_request({"items": ["1"], "category": " 1277 "}).category == "1277"


def test_the_placement_decides_what_an_answer_leaves_out():
    session = {"items": ["1", "2", "3"]}
    product_page = parse_request({**session, "placement": "product_page"})
    assert (product_page.hidden, product_page.excludes_session) == (frozenset({"3"}), False)
    cart = parse_request({**session, "placement": "cart"})
    assert (cart.hidden, cart.excludes_session) == (frozenset(), True)
    category_page = parse_request({**session, "placement": "category_page", "category": "7"})
    assert (category_page.category, category_page.hidden) == ("7", frozenset({"3"}))
    home = parse_request({**session, "placement": "home"})
    assert (home.hidden, home.excludes_session) == (frozenset(), False)
    # No placement: the offline protocol's setting, nothing left out unless asked.
    assert parse_request(session).hidden == frozenset()
    assert parse_request({**session, "exclude_seen": True}).excludes_session


def test_ndarray_row_request():
    assert parse_request(np.array([["10", "11"]])).items == ("10", "11")


@pytest.mark.parametrize(
    "payload, message",
    [
        ({}, "items must be a non-empty list"),
        ({"items": []}, "items must be a non-empty list"),
        ({"items": "123"}, "items must be a non-empty list"),
        ({"items": ["1"] * (MAX_ITEMS + 1)}, "at most"),
        ({"items": [""]}, "every item id"),
        ({"items": [None]}, "every item id"),
        ({"items": [1.5]}, "every item id"),
        ({"items": ["1" * (MAX_ID_LENGTH + 1)]}, "at most 200 characters"),
        ({"items": ["\ud800"]}, "every item id"),  # a lone surrogate: valid JSON, not storable text
        ({"items": ["1"], "session_id": "s" * (MAX_ID_LENGTH + 1)}, "session_id must be"),
        ({"items": ["1"], "session_id": "\udfff"}, "session_id must be"),
        ({"items": ["1"], "k": 0}, "k must be an integer"),
        ({"items": ["1"], "k": 101}, "k must be an integer"),
        ({"items": ["1"], "k": "20"}, "k must be an integer"),
        ({"items": ["1"], "exclude_seen": "yes"}, "exclude_seen must be true or false"),
        ({"items": ["1"], "user": 7}, "unknown fields"),
        ({"items": ["1"], "category": ""}, "category must be"),
        ({"items": ["1"], "category": ["a"]}, "category must be"),
        (np.array([["1"], ["2"]]), "one ndarray row"),
        ({"items": ["1"], "placement": "checkout"}, "placement must be one of product_page"),
        ({"items": ["1"], "placement": "category_page"}, "category_page needs a category"),
        ({"items": ["1"], "placement": "cart", "category": "7"}, "category goes with placement category_page"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(payload, message):
    with pytest.raises(BadRequest, match=message):
        parse_request(payload)
