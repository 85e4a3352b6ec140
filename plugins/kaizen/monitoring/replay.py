"""Shoppers replayed against the model server, as the shop's product pages would call it.

For each session of a day's events, every view but the last asks for recommendations with
the views so far and the session's id: the answers the prediction log then holds are judged
by the rest of the session, exactly as live traffic would be. The drift scenario, its
benchmark and the monitoring tests use it; a shop in production does this by itself.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from kaizen.monitoring.online_quality import SESSION_ORDER
from kaizen.serving.client import ModelServerClient
from kaizen.serving.requests_schema import MAX_ITEMS


def requests_of(events: pd.DataFrame, max_sessions: int | None = None) -> list[tuple[str, list[str]]]:
    """(session_id, views so far) for every view that another view followed."""
    views = events[events["event_type"] == "view"].sort_values(SESSION_ORDER, kind="stable")
    asked = []
    for session_id, items in views.groupby("session_id", sort=False)["item_id"]:
        items = list(items)
        asked.extend((session_id, items[:n]) for n in range(1, min(len(items), MAX_ITEMS + 1)))
        if max_sessions is not None and (max_sessions := max_sessions - 1) == 0:
            break
    return asked


def replay(model_server_url: str, events: pd.DataFrame, max_sessions: int | None = None, workers: int = 8) -> int:
    """Send the requests of ``events``' sessions; how many were answered."""
    asked = requests_of(events, max_sessions)
    client = ModelServerClient(model_server_url, timeout_s=10)

    def ask(request: tuple[str, list[str]]) -> None:
        session_id, items = request
        client.recommend(items, k=20, session_id=session_id, placement="product_page")

    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(ask, asked):
            pass
    return len(asked)
