"""A small client of Airflow 3's REST API (v2, bearer token): what the demo and tests need."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import requests

from kaizen.errors import KaizenError

TERMINAL = {"success", "failed"}


class AirflowError(KaizenError):
    """Airflow's REST API refused a call, or a DAG run did not succeed (the message names its failed tasks)."""


class AirflowClient:
    def __init__(self, base_url: str, username: str, password: str, timeout_s: float = 30.0):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.timeout_s = timeout_s
        response = self.http.post(
            f"{self.base}/auth/token", json={"username": username, "password": password}, timeout=timeout_s
        )
        if response.status_code not in (200, 201):
            raise AirflowError(f"Airflow login failed ({response.status_code}): {response.text[:200]}")
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    @classmethod
    def from_password_file(cls, base_url: str, username: str, path: Path) -> AirflowClient:
        """Log in with the password SimpleAuthManager generated for ``username``."""
        return cls(base_url, username, json.loads(path.read_text())[username])

    def request(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, f"{self.base}/api/v2{path}", timeout=self.timeout_s, **kwargs)
        if response.status_code >= 400:
            raise AirflowError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else {}

    def find(self, path: str) -> dict | None:
        """GET ``path``; None when Airflow answers 404 (no such DAG, run, ...)."""
        response = self.http.get(f"{self.base}/api/v2{path}", timeout=self.timeout_s)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise AirflowError(f"GET {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout_s: float = 120.0) -> None:
        """Wait until the dag-processor has parsed ``dag_id`` (a new stack needs a few seconds)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.find(f"/dags/{dag_id}") is not None:
                return
            if time.monotonic() > deadline:
                errors = self.request("GET", "/importErrors").get("import_errors", [])
                raise AirflowError(f"DAG {dag_id} not parsed after {timeout_s:.0f} s; import errors: {errors}")
            time.sleep(1)

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self.request("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        body = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in body["task_instances"]}

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        timeout_s: float = 900.0,
        on_change: Callable[[dict[str, str | None]], None] | None = None,
    ) -> str:
        """Poll until the run ends; ``on_change`` sees task states whenever they change."""
        deadline = time.monotonic() + timeout_s
        seen: dict[str, str | None] = {}
        while True:
            state = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            tasks = self.task_states(dag_id, run_id)
            if tasks != seen and on_change:
                on_change(tasks)
            seen = tasks
            if state in TERMINAL:
                return state
            if time.monotonic() > deadline:
                raise AirflowError(f"{dag_id} run {run_id} still {state} after {timeout_s:.0f} s")
            time.sleep(1)

    def run(
        self, dag_id: str, conf: dict | None = None, say: Callable[[str], None] | None = None, timeout_s: float = 900.0
    ) -> str:
        """Unpause, trigger and follow ``dag_id`` until its run ends, saying each task's state as
        it changes; the run id. Raises AirflowError naming the failed tasks unless it succeeded."""
        self.wait_for_dag(dag_id)
        self.unpause(dag_id)
        run_id = self.trigger(dag_id, conf)
        say = say or (lambda _: None)
        say(f"triggered {dag_id} run {run_id}")
        started = time.monotonic()
        reported: dict[str, str | None] = {}

        def progress(tasks: dict[str, str | None]) -> None:
            for task_id, state in tasks.items():
                if state and reported.get(task_id) != state:
                    say(f"  [{time.monotonic() - started:5.1f}s] {task_id}: {state}")
                    reported[task_id] = state

        state = self.wait_for_run(dag_id, run_id, timeout_s=timeout_s, on_change=progress)
        if state != "success":
            failed = [t for t, s in reported.items() if s == "failed"]
            logs = "".join(
                f"\n--- {task_id}'s log, last lines:\n{self.task_log(dag_id, run_id, task_id)}" for task_id in failed
            )
            raise AirflowError(
                f"{dag_id} run {run_id} {state} (failed: {failed}); see the Airflow UI at {self.base}{logs}"
            )
        return run_id

    def task_log(self, dag_id: str, run_id: str, task_id: str, lines: int = 40) -> str:
        """The last ``lines`` events of a task's latest try, as text (empty when there is none)."""
        try_number = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}").get(
            "try_number", 1
        )
        body = self.request(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number or 1}",
            params={"full_content": "true"},
        )
        content = body.get("content") or []
        if isinstance(content, str):
            return "\n".join(content.splitlines()[-lines:])
        events = [
            f"{e.get('level', '')} {e.get('event', '')}".strip() if isinstance(e, dict) else str(e) for e in content
        ]
        return "\n".join(events[-lines:])
