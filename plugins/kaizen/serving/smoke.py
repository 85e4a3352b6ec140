"""A smoke test of the served model: a real session from the lake, answered over HTTP."""

from __future__ import annotations

from kaizen.config import Settings
from kaizen.ingest import lake
from kaizen.serving.client import ModelServerClient, ModelServerError


def sample_session(settings: Settings, length: int = 3) -> list[str]:
    """The last items viewed in the lake's most recent multi-event session."""
    events = lake.read_events(settings.lake_dir, ["session_id", "item_id", "occurred_at"]).sort_values("occurred_at")
    sizes = events.groupby("session_id").size()
    session = events[events["session_id"].isin(sizes[sizes >= 2].index)]["session_id"].iloc[-1]
    return events[events["session_id"] == session]["item_id"].tail(length).tolist()


def smoke_test(settings: Settings, version: str, k: int = 10) -> dict:
    items = sample_session(settings)
    answer = ModelServerClient(settings.model_server_url).recommend(items, k)
    if answer.model_version != version:
        raise ModelServerError(f"served version {answer.model_version}, expected {version}")
    if len(answer.items) != k:
        raise ModelServerError(f"asked for {k} items, got {len(answer.items)}")
    return {"session": items, "recommended": answer.items, "version": version, "latency_ms": answer.latency_ms}
