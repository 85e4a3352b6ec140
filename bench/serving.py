"""Serving throughput and latency: the Seldon model server against ``mlflow models serve``.

Both serve the same registered VSTAN model (trained on the RetailRocket week) from a
private MLflow server; closed-loop load from ``wrk`` (C, so the load generator takes
little of the two cores) at concurrency 1, 8 and 32, the same session prefixes for both,
after a warm-up, in five rounds that alternate the two servers. Figures: rps, p50 and p99
latency (medians of the rounds); errors (non-2xx and socket errors) and requests (totals);
server RSS.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import psutil
import requests

from kaizen.config import Settings
from kaizen.datasets import read_retailrocket
from kaizen.models import DEFAULT_FAMILY, MODELS
from kaizen.registry.champion import register, set_champion
from kaizen.registry.pyfunc import log_recommender
from kaizen.stack.demo import DEMO_DATA
from kaizen.stack.postgres import free_port
from kaizen.stack.services import model_server_command
from kaizen.training.protocol import session_rec_split

CONCURRENCY = (1, 8, 32)
DURATION_S = 6
REPEATS = 5  # rounds alternate the two servers, so machine noise hits both; figures are medians
WARMUP_S = 2
SESSION = ["257040", "461686", "355908"]


def _wait(url: str, log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout_s} s; its log ends:\n{log.read_text()[-3000:]}")


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _rss_mb(process: subprocess.Popen) -> float:
    parent = psutil.Process(process.pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20


def _wrk(url: str, body: dict, concurrency: int, workdir: Path, duration_s: int = DURATION_S) -> dict[str, float]:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(concurrency, 2)),
            "-c",
            str(concurrency),
            "-d",
            f"{duration_s}s",
            "--latency",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    socket = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "errors": float(non_2xx + socket),
        "requests": float(requests_done),
    }


def _ms(text: str) -> float:
    value, unit = float(re.match(r"[\d.]+", text).group()), re.search(r"[a-z]+$", text).group()
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run() -> dict:
    if not shutil.which("wrk"):
        raise SystemExit("bench-serving needs wrk, a C load generator: apt-get install wrk")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mlflow_port, seldon_port, pyfunc_port = free_port(), free_port(), free_port()
        tracking = f"http://127.0.0.1:{mlflow_port}"
        bin_dir = Path(sys.executable).parent
        # mlflow models serve execs uvicorn by name: the orchestration env's bin goes first on PATH.
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": tracking,
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "KAIZEN_MODEL_NAME": "bench-recommender",
            "KAIZEN_HOME": str(work),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        }
        processes = [
            _start(
                [
                    str(bin_dir / "mlflow"),
                    "server",
                    "--backend-store-uri",
                    f"sqlite:///{work}/mlflow.db",
                    "--serve-artifacts",
                    "--artifacts-destination",
                    str(work / "artifacts"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(mlflow_port),
                    "--workers",
                    "1",
                ],
                env,
                work / "mlflow.log",
            )
        ]
        try:
            _wait(f"{tracking}/health", work / "mlflow.log")
            mlflow.set_tracking_uri(tracking)
            model = MODELS[DEFAULT_FAMILY]().fit(session_rec_split(read_retailrocket(DEMO_DATA)).train)
            with mlflow.start_run():
                uri = log_recommender(model)
            version = register(tracking, uri, "bench-recommender")
            set_champion(tracking, "bench-recommender", version)

            ports = {"serving_port": seldon_port, "serving_grpc_port": free_port(), "serving_metrics_port": free_port()}
            seldon = _start(
                model_server_command(dataclasses.replace(Settings.from_env(), **ports), log_level="WARNING"),
                env,
                work / "seldon.log",
            )
            pyfunc = _start(
                [
                    str(bin_dir / "mlflow"),
                    "models",
                    "serve",
                    "-m",
                    f"models:/bench-recommender/{version}",
                    "--env-manager",
                    "local",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(pyfunc_port),
                    "-w",
                    "2",
                ],
                env,
                work / "pyfunc.log",
            )
            processes += [seldon, pyfunc]
            _wait(f"http://127.0.0.1:{seldon_port}/health/status", work / "seldon.log")
            _wait(f"http://127.0.0.1:{pyfunc_port}/ping", work / "pyfunc.log")
            targets = {
                "": (
                    seldon,
                    f"http://127.0.0.1:{seldon_port}/api/v1.0/predictions",
                    {"jsonData": {"items": SESSION, "k": 20}},
                ),
                "mlflow_serve_": (
                    pyfunc,
                    f"http://127.0.0.1:{pyfunc_port}/invocations",
                    {"dataframe_records": [{"items": SESSION, "k": 20}]},
                ),
            }
            for _, url, body in targets.values():
                _wrk(url, body, 8, work, WARMUP_S)
            rounds: dict[tuple[str, str, int], list[float]] = {}
            for round_ in range(REPEATS):
                for prefix, (_, url, body) in targets.items():
                    for c in CONCURRENCY:
                        result = _wrk(url, body, c, work)
                        for name, value in result.items():
                            rounds.setdefault((prefix, name, c), []).append(value)
                        print(f"  round {round_ + 1}/{REPEATS} {prefix or 'seldon_'}c{c}: {result}", flush=True)
            for (prefix, name, c), values in rounds.items():
                total = name in ("errors", "requests")  # counts add up over rounds; the rest are medians
                figures[f"{prefix}{name}_c{c}"] = round(sum(values) if total else statistics.median(values), 3)
            for prefix, (process, _, _) in targets.items():
                figures[f"{prefix}rss_mb"] = round(_rss_mb(process), 1)
        finally:
            for process in reversed(processes):
                _stop(process)
    figures["ratio_rps_c8_seldon_to_mlflow_serve"] = round(figures["rps_c8"] / figures["mlflow_serve_rps_c8"], 2)
    # Without KAIZEN_FEATURE_SERVER_URL the model server finds no feature server (fallback path).
    figures["feature_server"] = os.environ.get("KAIZEN_FEATURE_SERVER_URL", "") or "none"
    return figures
