"""Talk to the model server over HTTP: recommendations, the served version, roll-out waits."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from kaizen.errors import ModelServerError

PREDICTIONS = "/api/v1.0/predictions"


@dataclass(frozen=True)
class Recommendation:
    items: list[str]
    scores: list[float]
    model_version: str
    latency_ms: float


class ModelServerClient:
    def __init__(self, base_url: str, timeout_s: float = 5.0):
        self.base = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.http = requests.Session()

    def recommend(
        self,
        items: list[str],
        k: int = 20,
        exclude_seen: bool = False,
        session_id: str | None = None,
        category: str | None = None,
        placement: str | None = None,
    ) -> Recommendation:
        payload = {"jsonData": {"items": list(items), "k": k, "exclude_seen": exclude_seen}}
        for name, value in (("session_id", session_id), ("category", category), ("placement", placement)):
            if value is not None:
                payload["jsonData"][name] = value
        started = time.perf_counter()
        try:
            response = self.http.post(self.base + PREDICTIONS, json=payload, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise ModelServerError(f"model server at {self.base} unreachable: {exc}") from exc
        latency_ms = (time.perf_counter() - started) * 1000
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code != 200:
            reason = (body.get("status") or {}).get("info") or response.text[:300]
            raise ModelServerError(f"model server answered {response.status_code}: {reason}")
        data = body["jsonData"]
        return Recommendation(data["items"], data["scores"], body["meta"]["tags"]["model_version"], latency_ms)

    def served_version(self) -> str | None:
        """The version the server is ready with, or None while it has none."""
        try:
            response = self.http.get(self.base + "/health/status", timeout=self.timeout_s)
        except requests.RequestException:
            return None
        if response.status_code != 200:
            return None
        return response.json().get("meta", {}).get("tags", {}).get("model_version") or None

    def wait_for_version(self, version: str, timeout_s: float = 60.0) -> None:
        """Block until the server reports ``version``; it polls the registry on its own."""
        deadline = time.monotonic() + timeout_s
        while (served := self.served_version()) != version:
            if time.monotonic() > deadline:
                raise ModelServerError(
                    f"model server still serves {served!r}, not version {version}, after {timeout_s:.0f} s"
                )
            time.sleep(0.5)
