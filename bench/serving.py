"""Serving on the real path: the embedded stack's model server against ``mlflow models serve``.

What ``make demo`` leaves running (a private embedded stack: the feature server on, every
answer written to the prediction log) serves the champion it trained; ``mlflow models serve``
serves the same registry version beside it, in the same run. Closed-loop load from ``wrk``
(C, so the load generator takes little of the two cores) at concurrency 1, 8 and 32, in rounds
that alternate the two servers, each request a different real RetailRocket session prefix from
a rotating set (with a session id and the product page's placement for the model server).
Figures: rps, p50 and p99 latency (medians of the rounds); errors and requests (totals);
the share of the model server's answers that had the catalogue's filters applied (from its
``/metrics``: answers less ``kaizen_feature_fallbacks_total``) and the share filtered by
attributes within their staleness bound (less ``kaizen_stale_feature_answers_total``); the
item attributes' age, sampled from the readiness endpoint every second under load (median
and max);
server RSS. Then a soak: SOAK_S of load at concurrency 8, the model server's RSS after one
minute and at the end (their ratio: memory must not grow with the sessions served).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

from kaizen.config import Settings
from kaizen.datasets import read_retailrocket
from kaizen.stack import embedded
from kaizen.stack.demo import DEMO_DATA, demo
from kaizen.stack.postgres import free_port

CONCURRENCY = (1, 8, 32)
DURATION_S = 6
REPEATS = 5  # rounds alternate the two servers, so machine noise hits both; figures are medians
WARMUP_S = 2
SESSIONS = 2000  # different real session prefixes, sent in turn
SOAK_S = 300


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


def sessions(count: int = SESSIONS) -> list[tuple[str, list[str]]]:
    """(session id, the first half of its items, at most 5) of real multi-event sessions."""
    events = read_retailrocket(DEMO_DATA).sort_values(["session_id", "occurred_at"])
    items = events.groupby("session_id")["item_id"].agg(list)
    items = items[items.str.len() >= 2].head(count)
    return [(f"bench-{sid}", list(seq[: min(5, max(1, len(seq) // 2))])) for sid, seq in items.items()]


def _script(bodies: list[dict], workdir: Path) -> Path:
    """A wrk script that sends ``bodies`` in turn, each thread from its own offset."""
    table = ",\n".join(json.dumps(json.dumps(body)) for body in bodies)
    script = workdir / f"bodies-{len(list(workdir.glob('bodies-*')))}.lua"
    script.write_text(
        f"local bodies = {{\n{table}\n}}\n"
        "local threads = 0\n"
        "function setup(thread) thread:set('offset', threads * 997); threads = threads + 1 end\n"
        "function init(args) i = offset or 0 end\n"
        "function request()\n"
        "  i = i + 1\n"
        "  return wrk.format('POST', nil, {['Content-Type'] = 'application/json'}, bodies[(i % #bodies) + 1])\n"
        "end\n"
    )
    return script


def _wrk(url: str, script: Path, concurrency: int, duration_s: int = DURATION_S) -> dict[str, float]:
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


def _metric_values(text: str, name: str) -> list[float]:
    return [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)]


def _answers(metrics_url: str) -> tuple[float, float, float]:
    """(answers, unfiltered answers, answers with stale filters) the model server counted so far."""
    time.sleep(1.5)  # its workers publish once a second (kaizen.serving.seldon_metrics)
    text = requests.get(metrics_url, timeout=5).text
    return tuple(
        sum(_metric_values(text, name))
        for name in (
            "kaizen_predict_seconds_count",
            "kaizen_feature_fallbacks_total",
            "kaizen_stale_feature_answers_total",
        )
    )


class AgeSampler:
    """The item attributes' age, every second, from the model server's readiness (a worker's
    own figure; cheaper for the server under load than rendering /metrics)."""

    def __init__(self, status_url: str):
        self.status_url, self.ages, self._stop = status_url, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            response = requests.get(self.status_url, timeout=5)
            if response.ok:  # past the bound it answers 503, and the filtered shares say so
                self.ages.append(response.json()["jsonData"]["item_attributes_age_s"])

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join()
        return self.ages


def _model_server_rss_mb() -> float:
    launcher = "kaizen.serving.microservice"
    servers = [p for p in psutil.process_iter(["cmdline"]) if launcher in (p.info["cmdline"] or [])]
    roots = [p for p in servers if p.parent() not in servers]
    return sum(p.memory_info().rss for root in roots for p in [root, *root.children(recursive=True)]) / 2**20


def _ms(text: str) -> float:
    value, unit = float(re.match(r"[\d.]+", text).group()), re.search(r"[a-z]+$", text).group()
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def _soak(url: str, script: Path) -> dict[str, float]:
    """RSS after the first minute of load and at the end of SOAK_S: memory must level off."""
    print(f"  soak: {SOAK_S} s at c8", flush=True)
    _wrk(url, script, 8, 60)
    after_1_min = _model_server_rss_mb()
    result = _wrk(url, script, 8, SOAK_S - 60)
    at_end = _model_server_rss_mb()
    print(f"  soak: RSS {after_1_min:.0f} MB after 1 min, {at_end:.0f} MB after {SOAK_S} s", flush=True)
    return {
        "soak_s": float(SOAK_S),
        "soak_rss_after_1_min_mb": round(after_1_min, 1),
        "soak_rss_at_end_mb": round(at_end, 1),
        "soak_rss_growth_ratio": round(at_end / after_1_min, 3),
        "soak_errors": result["errors"],
    }


def run() -> dict:
    if not shutil.which("wrk"):
        raise SystemExit("bench-serving needs wrk, a C load generator: apt-get install wrk")
    figures: dict[str, float] = {}
    sent = sessions()
    settings = Settings.from_env({**os.environ, **embedded.private_env("kaizen-bench-serving-")})
    processes: list[subprocess.Popen] = []
    try:
        answer = demo(settings, say=lambda line: print(f"  {line}", flush=True))
        stack = embedded.resolve(settings).settings
        work = Path(tempfile.mkdtemp(dir=stack.home))
        bin_dir = Path(sys.executable).parent
        pyfunc_port = free_port()
        # mlflow models serve execs uvicorn by name: the orchestration env's bin goes first on PATH.
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": stack.mlflow_tracking_uri,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        }
        pyfunc = _start(
            [
                str(bin_dir / "mlflow"),
                "models",
                "serve",
                "-m",
                f"models:/{stack.model_name}/{answer.model_version}",
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
        processes.append(pyfunc)
        _wait(f"http://127.0.0.1:{pyfunc_port}/ping", work / "pyfunc.log")
        seldon_bodies = [
            {"jsonData": {"items": items, "k": 20, "session_id": sid, "placement": "product_page"}}
            for sid, items in sent
        ]
        targets = {
            "": (f"{stack.model_server_url}/api/v1.0/predictions", _script(seldon_bodies, work)),
            "mlflow_serve_": (
                f"http://127.0.0.1:{pyfunc_port}/invocations",
                _script([{"dataframe_records": [{"items": items, "k": 20}]} for _, items in sent], work),
            ),
        }
        for url, script in targets.values():
            _wrk(url, script, 8, WARMUP_S)
        metrics_url = f"http://{stack.host}:{stack.serving_metrics_port}/metrics"
        rounds: dict[tuple[str, str, int], list[float]] = {}
        sampler = AgeSampler(f"{stack.model_server_url}/health/status")
        for round_ in range(REPEATS):
            for prefix, (url, script) in targets.items():
                for c in CONCURRENCY:
                    before = _answers(metrics_url) if not prefix else None
                    result = _wrk(url, script, c)
                    if before:
                        after = _answers(metrics_url)
                        answered, unfiltered, stale = (a - b for a, b in zip(after, before, strict=True))
                        result["filtered_share"] = 1 - unfiltered / answered if answered else 0.0
                        result["fresh_filter_share"] = 1 - (unfiltered + stale) / answered if answered else 0.0
                    for name, value in result.items():
                        rounds.setdefault((prefix, name, c), []).append(value)
                    print(f"  round {round_ + 1}/{REPEATS} {prefix or 'seldon_'}c{c}: {result}", flush=True)
        for (prefix, name, c), values in rounds.items():
            total = name in ("errors", "requests")  # counts add up over rounds; the rest are medians
            figures[f"{prefix}{name}_c{c}"] = round(sum(values) if total else statistics.median(values), 3)
        ages = sampler.stop()
        figures["item_attributes_age_p50_s"] = round(statistics.median(ages), 2)
        figures["item_attributes_age_max_s"] = round(max(ages), 2)
        figures["item_attributes_max_age_bound_s"] = stack.item_max_age_s
        figures["rss_mb"] = round(_model_server_rss_mb(), 1)
        figures["mlflow_serve_rss_mb"] = round(_rss_mb(pyfunc), 1)
        _stop(pyfunc)
        processes.remove(pyfunc)
        figures.update(_soak(targets[""][0], targets[""][1]))
    finally:
        for process in processes:
            _stop(process)
        embedded.down(settings)
        shutil.rmtree(settings.home, ignore_errors=True)
    figures["ratio_rps_c8_seldon_to_mlflow_serve"] = round(figures["rps_c8"] / figures["mlflow_serve_rps_c8"], 2)
    figures["sessions"] = float(len(sent))
    return figures
