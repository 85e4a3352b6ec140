"""The docker compose stack, driven from Python: its ``.env`` and its life cycle.

``kaizen compose-env`` writes a ``.env`` with every secret generated; the compose test and
``make bench-compose`` use :class:`ComposeStack` to build, start, wait for health and stop.
Works with Docker's ``docker compose`` and with ``podman-compose``; podman 4 runs healthchecks
only when asked, so health is asked for explicitly (``podman healthcheck run``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kaizen.config import PROJECT_DIR, read_env_file
from kaizen.errors import StackError
from kaizen.stack.secrets import generate
from kaizen.version import code_version

log = logging.getLogger(__name__)

COMPOSE_FILE = PROJECT_DIR / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_DIR / ".env.example"
# The README's command that loads the demo week into the stack's shop database, after `docker compose`.
LOAD_DEMO_EVENTS = (
    "--profile",
    "cli",
    "run",
    "--rm",
    "kaizen-cli",
    "shop",
    "load",
    "--format",
    "retailrocket",
    "/opt/kaizen/data/retailrocket-week/events.tsv",
)


class ComposeError(StackError):
    """A compose command failed or the stack did not become healthy."""


# Secrets .env.example leaves empty that the stack runs without: nothing to generate.
OPTIONAL_SECRETS = ("KAIZEN_ALERT_WEBHOOK_URL",)


def required_secrets() -> list[str]:
    """The variables .env.example leaves empty (but the optional ones): every one is a secret
    compose refuses to start without."""
    return [name for name, value in read_env_file(ENV_EXAMPLE).items() if value == "" and name not in OPTIONAL_SECRETS]


def write_env(path: Path, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Write a compose ``.env``: .env.example's defaults, a fresh value for every secret, the code
    version the images record, then ``overrides``. Readable by its owner only; an existing file is
    never overwritten."""
    if path.exists():
        raise FileExistsError(f"{path} exists; delete it first to generate new secrets")
    values = {
        **read_env_file(ENV_EXAMPLE),
        **{name: generate(name) for name in required_secrets()},
        "KAIZEN_CODE_VERSION": code_version(),
        **(overrides or {}),
    }
    path.touch(mode=0o600)
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return values


def find_engine() -> str | None:
    """``docker`` when its daemon answers and it has the compose plugin, else ``podman`` when
    podman and podman-compose are installed, else None."""
    if shutil.which("docker") and _ok(["docker", "compose", "version"]) and _ok(["docker", "info"]):
        return "docker"
    if shutil.which("podman") and podman_compose() and _ok(["podman", "info"]):
        return "podman"
    return None


def podman_compose() -> str | None:
    """podman-compose on PATH, else the one in the project's infra environment."""
    found = shutil.which("podman-compose")
    local = PROJECT_DIR / ".venv" / "infra" / "bin" / "podman-compose"
    return found or (str(local) if local.exists() else None)


def _ok(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class ComposeStack:
    """One compose project: the repository's docker-compose.yml with an env file."""

    engine: str
    project: str
    env_file: Path
    env: dict[str, str] = field(default_factory=dict)  # interpolation variables beyond the env file

    def command(self, *args: str) -> list[str]:
        if self.engine == "docker":
            base = ["docker", "compose"]
        else:
            base = [podman_compose() or "podman-compose"]
        return [*base, "--project-name", self.project, "--env-file", str(self.env_file), "-f", str(COMPOSE_FILE), *args]

    def run(self, *args: str, timeout: float = 1800, capture: bool = False) -> subprocess.CompletedProcess:
        """Run a compose command from the repository root (the file's relative paths)."""
        # podman builds OCI images unless told otherwise, and OCI drops the Dockerfiles' HEALTHCHECKs.
        engine_env = {"BUILDAH_FORMAT": "docker"} if self.engine == "podman" else {}
        result = subprocess.run(
            self.command(*args),
            cwd=PROJECT_DIR,
            env={**os.environ, **engine_env, **self.env},
            timeout=timeout,
            capture_output=capture,
            text=True,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout or "")[-3000:] if capture else ""
            raise ComposeError(f"compose {' '.join(args)} exited {result.returncode}\n{detail}")
        return result

    def containers(self) -> dict[str, dict]:
        """Service name -> the engine's inspect record, for every container of the project."""
        ids = subprocess.run(
            [self.engine, "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if not ids:
            return {}
        records = json.loads(
            subprocess.run([self.engine, "inspect", *ids], capture_output=True, text=True, check=True).stdout
        )
        return {r["Config"]["Labels"]["com.docker.compose.service"]: r for r in records}

    def container(self, service: str) -> str:
        return self.containers()[service]["Name"].lstrip("/")

    def healthy(self, record: dict) -> bool:
        """Whether a container's healthcheck passes now (podman: by running it)."""
        name = record["Name"].lstrip("/")
        if self.engine == "podman":
            return subprocess.run(["podman", "healthcheck", "run", name], capture_output=True).returncode == 0
        return (record["State"].get("Health") or {}).get("Status") == "healthy"

    def one_off_services(self) -> set[str]:
        """Services that run once and exit (``restart: "no"``), such as airflow-init."""
        services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
        return {name for name, service in services.items() if str(service.get("restart")) == "no"}

    def wait_healthy(self, timeout_s: float, say: Callable[[str], None] = log.info) -> dict[str, float]:
        """Wait until every long-running service passes its healthcheck and every one-off
        service exited 0; the seconds at which each got there. A one-off that failed, or a
        service that stopped, fails at once with its log."""
        started = time.monotonic()
        one_off = self.one_off_services()
        done: dict[str, float] = {}
        while True:
            pending = []
            for service, record in self.containers().items():
                if service in done:
                    continue
                state = record["State"]
                if state.get("Running"):
                    has_check = bool((record["Config"].get("Healthcheck") or {}).get("Test"))
                    ready = service not in one_off and (not has_check or self.healthy(record))
                elif service in one_off and state.get("ExitCode") == 0:
                    ready = True
                elif state.get("Status") in ("exited", "stopped") and service in one_off:
                    raise ComposeError(f"{service} exited {state.get('ExitCode')}:\n{self.logs(service)}")
                else:
                    ready = False  # created, or restarting after a crash (restart: always)
                if ready:
                    done[service] = time.monotonic() - started
                    say(f"  [{done[service]:5.0f}s] {service} {'done' if service in one_off else 'healthy'}")
                else:
                    pending.append(f"{service} ({state.get('Status')})")
            if not pending:
                return done
            if time.monotonic() - started > timeout_s:
                raise ComposeError(f"not healthy after {timeout_s:.0f} s: {', '.join(pending)}")
            time.sleep(3)

    def logs(self, service: str, tail: int = 80) -> str:
        result = subprocess.run(
            [self.engine, "logs", "--tail", str(tail), self.container(service)], capture_output=True, text=True
        )
        return result.stdout + result.stderr

    def memory_bytes(self) -> dict[str, int]:
        """Resident memory of each running container (the engine's stats, no stream)."""
        names = {
            record["Name"].lstrip("/"): service
            for service, record in self.containers().items()
            if record["State"].get("Running")
        }
        if not names:
            return {}
        out = subprocess.run(
            [self.engine, "stats", "--no-stream", "--format", "json", *names],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        usage = {}
        for row in json.loads(out):
            name = row.get("name") or row.get("Name")
            raw = row.get("mem_usage") or row.get("MemUsage") or ""
            usage[names.get(name, name)] = _bytes(raw.split("/")[0].strip())
        return usage


def _bytes(text: str) -> int:
    """'512.3MB' or '1.2GiB' -> bytes."""
    units = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
    number = text.rstrip("BbKkMmGgIi")
    unit = text[len(number) :].lower() or "b"
    return int(float(number) * units[unit])
