"""Online quality: the model server's logged answers judged by what the shopper did next.

An answer is joined with its session in the lake by ``session_id`` and position: the request
carries the session's views so far (``items``, oldest first, as the request format asks), so
the answer came after the session's n-th view, n = len(items), and everything after that view
followed it. Position, not clock time, because the model server's clock and the shop's are
different machines; an answer whose n-th view is not its last item is left unjudged
(``unmatched``), as is one whose session is not in the lake yet.

Per model version and business day (the day of that n-th view):
- ``hr_at_20``, ``mrr_at_20``: the next viewed item among the first 20 recommended (the
  session-based literature's next-item measures, as offline evaluation computes them);
- ``ctr``, ``cart_rate``, ``purchase_rate``: a recommended item viewed, added to the cart or
  bought later in the session;
- ``coverage``: distinct items recommended over distinct items viewed that day;
- ``popular_share``: recommended slots taken by the day's 10% most viewed items (popularity bias);
- ``fallback_share``: answers served stale or without online features.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
import pandas as pd

K = 20
POPULAR_FRACTION = 0.1
# A logged answer as monitoring reads it: the request's length and last item place it in its
# session (the whole history is not needed), the first K recommended items judge it.
ANSWER_COLUMNS = ["session_id", "n_items", "last_item", "recommended", "model_name", "model_version", "features"]
EVENT_COLUMNS = ["session_id", "item_id", "event_type", "occurred_at"]
METRICS = ["hr_at_20", "mrr_at_20", "ctr", "cart_rate", "purchase_rate", "coverage", "popular_share", "fallback_share"]
DEGRADED = ("stale", "fallback")  # kaizen.serving.item_attributes' answers without fresh features
# A session's events in time order; events of the same instant by item id, so that every
# reader (monitoring, the replay) puts them in the same order.
SESSION_ORDER = ["session_id", "occurred_at", "item_id"]
KEYS = ["model_name", "model_version", "day"]


@dataclass(frozen=True)
class Session:
    views: list[str]
    view_days: list[str]
    carts: list[tuple[int, str]]  # (views before it, item)
    purchases: list[tuple[int, str]]


@dataclass(frozen=True)
class Measured:
    per_day: pd.DataFrame  # one row per (model_name, model_version, day): counts and METRICS
    judged: pd.DataFrame  # one row per joined answer: its day, version, outcomes and recommended items
    answers: int  # every answer read
    unmatched: int  # ... not joined with a session in the lake


def answers_from_requests(frame: pd.DataFrame) -> pd.DataFrame:
    """``ANSWER_COLUMNS`` from rows that carry the request's whole ``items`` list."""
    items = frame["items"]
    return frame.assign(n_items=items.map(len), last_item=items.map(lambda i: i[-1] if i else None))[ANSWER_COLUMNS]


def day_strings(moments: pd.Series) -> np.ndarray:
    """YYYY-MM-DD (UTC) of each moment; numpy's formatting, ~100x pandas' strftime."""
    naive = moments.dt.tz_convert("UTC").dt.tz_localize(None) if moments.dt.tz is not None else moments
    return np.datetime_as_string(naive.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"), unit="D")


def sessions_of(events: pd.DataFrame, wanted: set[str]) -> dict[str, Session]:
    """The sessions in ``wanted``, their events in ``SESSION_ORDER``."""
    events = events[events["session_id"].isin(wanted)]
    events = events.sort_values(SESSION_ORDER, kind="stable")
    built: dict[str, tuple[list, list, list, list]] = {}
    for session_id, item, kind, day in zip(
        events["session_id"].to_numpy(),
        events["item_id"].to_numpy(),
        events["event_type"].to_numpy(),
        day_strings(events["occurred_at"]),
        strict=True,
    ):
        views, view_days, carts, purchases = built.setdefault(session_id, ([], [], [], []))
        if kind == "view":
            views.append(item)
            view_days.append(day)
        elif kind == "addtocart":
            carts.append((len(views), item))
        elif kind == "transaction":
            purchases.append((len(views), item))
    return {sid: Session(*parts) for sid, parts in built.items()}


def measure(answers: pd.DataFrame, events: pd.DataFrame) -> Measured:
    """Online quality of ``answers`` (prediction log rows) judged by ``events`` (the lake's)."""
    sessions = sessions_of(events, set(answers["session_id"].dropna()))
    rows = []
    for session_id, n, last, recommended, name, version, features in answers[ANSWER_COLUMNS].itertuples(
        index=False, name=None
    ):
        session = sessions.get(session_id)
        if session is None or not 0 < n <= len(session.views) or session.views[n - 1] != last:
            continue
        top = recommended[:K]
        shown = set(top)
        later = session.views[n:]
        nxt = later[0] if later else None
        rank = top.index(nxt) + 1 if nxt in shown else 0
        rows.append(
            (
                name,
                version,
                session.view_days[n - 1],
                nxt is not None,
                rank > 0,
                1.0 / rank if rank else 0.0,
                not shown.isdisjoint(later),
                bool(session.carts) and any(item in shown for before, item in session.carts if before >= n),
                bool(session.purchases) and any(item in shown for before, item in session.purchases if before >= n),
                features in DEGRADED,
                top,
            )
        )
    columns = [*KEYS, "judged", "hit", "rr", "click", "cart", "purchase", "degraded", "recommended"]
    judged = pd.DataFrame(rows, columns=columns)
    per_day = _aggregate(judged, events)
    return Measured(per_day, judged, answers=len(answers), unmatched=len(answers) - len(judged))


def _aggregate(judged: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    if judged.empty:
        return pd.DataFrame(columns=[*KEYS, "answers", "judged", *METRICS])
    grouped = judged.groupby(KEYS, sort=True)
    out = grouped.agg(
        answers=("judged", "size"),
        judged=("judged", "sum"),
        ctr=("click", "mean"),
        cart_rate=("cart", "mean"),
        purchase_rate=("purchase", "mean"),
        fallback_share=("degraded", "mean"),
    )
    with_next = judged[judged["judged"]].groupby(KEYS)
    out["hr_at_20"] = with_next["hit"].mean()
    out["mrr_at_20"] = with_next["rr"].mean()

    # Every recommended slot with its answer's group, for coverage and popularity bias.
    lengths = judged["recommended"].map(len).to_numpy()
    slots = pd.DataFrame(
        {
            "group": np.repeat(grouped.ngroup().to_numpy(), lengths),
            "item": np.fromiter(chain.from_iterable(judged["recommended"]), dtype=object, count=int(lengths.sum())),
        }
    )
    views = events.loc[events["event_type"] == "view", ["item_id", "occurred_at"]]
    views = views.assign(day=day_strings(views["occurred_at"]))
    per_day_counts = views.groupby(["day", "item_id"]).size()
    days = set(per_day_counts.index.get_level_values("day"))
    coverage, popular = [], []
    for number, (_, _, day) in enumerate(out.index):
        items = slots.loc[slots["group"] == number, "item"]
        counts = per_day_counts.loc[day].sort_values(ascending=False, kind="stable") if day in days else None
        if counts is None or items.empty:
            coverage.append(np.nan)
            popular.append(np.nan)
            continue
        head = counts.index[: max(1, int(len(counts) * POPULAR_FRACTION))]
        coverage.append(items.nunique() / len(counts))
        popular.append(float(items.isin(head).mean()))
    out["coverage"] = coverage
    out["popular_share"] = popular
    return out.reset_index()[[*KEYS, "answers", "judged", *METRICS]]
