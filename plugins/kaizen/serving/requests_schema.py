"""What a recommendation request may contain, checked before the model sees it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from kaizen.errors import BadRequest

MAX_ITEMS = 200  # a session prefix longer than this is a client bug, not a shopper
MAX_K = 100
MAX_ID_LENGTH = 200  # characters of an item, session or category id: longer is a client bug
ID_RULE = f"a non-empty string of at most {MAX_ID_LENGTH} characters, or an integer"
DEFAULT_K = 20
FIELDS = ("items", "k", "exclude_seen", "session_id", "category", "placement")
# Where the answer is shown decides what it must leave out (docs/deployment.md). Without a
# placement nothing is left out but what exclude_seen says: the offline protocol's setting,
# where a repeat of the current item counts as a hit.
CURRENT_ITEM, SESSION, NOTHING = "the item being viewed", "every item of the session", "nothing"
PLACEMENTS = {
    "product_page": CURRENT_ITEM,
    "category_page": CURRENT_ITEM,  # and only items of the request's category
    "cart": SESSION,  # the session holds what is in the cart
    "home": NOTHING,  # recently viewed items are welcome there
}


@dataclass(frozen=True)
class RecommendRequest:
    items: tuple[str, ...]
    k: int = DEFAULT_K
    exclude_seen: bool = False
    session_id: str | None = None  # lets monitoring join the answer with the clicks after it
    category: str | None = None  # a category page's placement: only items of this category
    placement: str | None = None  # a key of PLACEMENTS

    @property
    def excludes_session(self) -> bool:
        return self.exclude_seen or PLACEMENTS.get(self.placement) == SESSION

    @cached_property  # asked twice per request
    def hidden(self) -> frozenset[str]:
        """Items the placement never shows, beyond what ``excludes_session`` leaves out."""
        return frozenset(self.items[-1:]) if PLACEMENTS.get(self.placement) == CURRENT_ITEM else frozenset()


def parse_request(payload, exclude_seen_default: bool = False) -> RecommendRequest:
    """Accept ``jsonData`` ({"items": [...], "k": .., "exclude_seen": .., "session_id": ..,
    "category": .., "placement": ..}) or one ndarray row of item ids."""
    if isinstance(payload, dict):
        unknown = set(payload) - set(FIELDS)
        if unknown:
            raise BadRequest(f"unknown fields {sorted(unknown)}; expected {', '.join(FIELDS)}")
        items = payload.get("items")
        k = payload.get("k", DEFAULT_K)
        exclude_seen = payload.get("exclude_seen", exclude_seen_default)
        session_id = payload.get("session_id")
        category = payload.get("category")
        placement = payload.get("placement")
    else:
        rows = payload.tolist() if hasattr(payload, "tolist") else payload
        if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], list):
            raise BadRequest('expected jsonData {"items": [...]} or one ndarray row of item ids')
        items, k, exclude_seen, session_id, category, placement = (
            rows[0],
            DEFAULT_K,
            exclude_seen_default,
            None,
            None,
            None,
        )
    if not isinstance(items, list) or not items:
        raise BadRequest("items must be a non-empty list of item ids, oldest first")
    if len(items) > MAX_ITEMS:
        raise BadRequest(f"items has {len(items)} entries; at most {MAX_ITEMS}")
    if not all(_valid_id(i) for i in items):
        raise BadRequest(f"every item id must be {ID_RULE}")
    # JSON numbers arrive as floats through protobuf's Struct: 20.0 is 20, 20.5 is not.
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be an integer from 1 to {MAX_K}")
    if not isinstance(exclude_seen, bool):
        raise BadRequest("exclude_seen must be true or false")
    if session_id is not None and not _valid_id(session_id):
        raise BadRequest(f"session_id must be {ID_RULE}")
    if category is not None and not _valid_id(category):
        raise BadRequest(f"category must be {ID_RULE}")
    if placement is not None and placement not in PLACEMENTS:
        raise BadRequest(f"placement must be one of {', '.join(PLACEMENTS)}")
    if placement == "category_page" and category is None:
        raise BadRequest("placement category_page needs a category")
    if category is not None and placement not in (None, "category_page"):
        raise BadRequest(f"category goes with placement category_page, not {placement}")
    return RecommendRequest(
        tuple(_item_id(i) for i in items),
        k,
        exclude_seen,
        _optional_id(session_id),
        _optional_id(category),
        placement,
    )


def _optional_id(value) -> str | None:
    return None if value is None else _item_id(value).strip()


def _valid_id(item) -> bool:
    if isinstance(item, str):
        return bool(item.strip()) and len(item) <= MAX_ID_LENGTH and _is_text(item)
    if isinstance(item, float):
        return item.is_integer()
    return isinstance(item, int) and not isinstance(item, bool)


def _item_id(item) -> str:
    # Protobuf's Struct turns integer ids into floats (355908 -> 355908.0).
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    return str(item)


def _is_text(value: str) -> bool:
    """Encodable as UTF-8: JSON can carry a lone surrogate (\\ud800) that no database can store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
