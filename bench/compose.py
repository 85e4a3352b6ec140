"""The compose stack in containers, beside the embedded stack on the same machine, same run.

What the compose test does, timed: build the images (cold: no layer cache, stand-ins for
the public base images included when the engine is podman; warm: again, from the cache),
``up -d`` until every service is healthy, the README's load command, ``kaizen_e2e`` over
Airflow's REST API and one served answer; memory is the containers' resident memory summed
(the engine's stats), at its peak during the run and idle after it. Then the embedded
stack's warm demo and memory (bench/stack.py's measurement), and the reference of that
benchmark (fitting and evaluating the champion in this process) for the ratios.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench import stack as embedded_bench
from bench.common import Sampler
from kaizen.airflow_api import AirflowClient
from kaizen.config import PROJECT_DIR
from kaizen.serving.client import ModelServerClient
from kaizen.stack.compose import LOAD_DEMO_EVENTS, ComposeStack, find_engine, write_env
from kaizen.stack.postgres import free_port

STANDINS = PROJECT_DIR / "tests" / "compose" / "standins" / "build.sh"
STANDIN_PREFIX = "localhost/kaizen-standin/"


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def build_standins(engine: str, cold: bool) -> tuple[float, dict[str, str]]:
    if cold:
        images = subprocess.run(
            [engine, "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True, check=True
        ).stdout.split()
        standins = [image for image in images if image.startswith(STANDIN_PREFIX)]
        if standins:
            subprocess.run([engine, "rmi", "--force", *standins], capture_output=True, check=True)
    started = time.perf_counter()
    out = subprocess.run(["bash", str(STANDINS)], capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - started, dict(line.split("=", 1) for line in out.split() if "=" in line)


class ContainerMemory(Sampler):
    """The project's containers' resident memory, summed, sampled every few seconds."""

    def __init__(self, compose: ComposeStack):
        super().__init__(every_s=3)
        self.compose = compose

    def measure(self) -> float:
        try:
            return sum(self.compose.memory_bytes().values()) / 2**20
        except (subprocess.CalledProcessError, ValueError):
            return 0.0  # a container came or went between listing and stats


def run() -> dict:
    engine = find_engine()
    if engine is None:
        raise SystemExit("bench compose: no container engine (tests/compose/setup-engine.sh installs podman)")
    figures: dict[str, float] = {}
    overrides = {
        name: str(free_port())
        for name in (
            "KAIZEN_AIRFLOW_PORT",
            "KAIZEN_MLFLOW_PORT",
            "KAIZEN_SERVING_PORT",
            "KAIZEN_SERVING_GRPC_PORT",
            "KAIZEN_SERVING_METRICS_PORT",
        )
    }
    standins_s = 0.0
    if engine == "podman":
        standins_s, images = build_standins(engine, cold=True)
        overrides.update(images)
        figures["standins_build_cold_s"] = round(standins_s, 1)
    env_file = Path(tempfile.mkdtemp(prefix="kaizen-bench-compose-")) / ".env"
    settings = write_env(env_file, overrides)
    compose = ComposeStack(engine, f"kaizen-bench-{os.getpid()}", env_file)
    images_cold_s = timed(lambda: compose.run("build", "--no-cache", "airflow-init", "mlflow", "model-server"))
    figures["images_build_cold_s"] = round(images_cold_s, 1)
    figures["build_cold_total_s"] = round(standins_s + images_cold_s, 1)
    warm_standins_s = build_standins(engine, cold=False)[0] if engine == "podman" else 0.0
    figures["build_warm_total_s"] = round(warm_standins_s + timed(lambda: compose.run("build")), 1)
    try:
        with ContainerMemory(compose) as memory:
            started = time.perf_counter()
            compose.run("up", "-d")
            compose.wait_healthy(900, say=lambda line: print(line, flush=True))
            figures["up_to_healthy_s"] = round(time.perf_counter() - started, 1)
            figures["shop_load_s"] = round(timed(lambda: compose.run(*LOAD_DEMO_EVENTS, timeout=600)), 1)
            airflow = AirflowClient(
                f"http://127.0.0.1:{settings['KAIZEN_AIRFLOW_PORT']}",
                "admin",
                settings["KAIZEN_AIRFLOW_ADMIN_PASSWORD"],
            )
            client = ModelServerClient(f"http://127.0.0.1:{settings['KAIZEN_SERVING_PORT']}")
            started = time.perf_counter()
            airflow.run("kaizen_e2e", say=lambda line: print(f"  {line}", flush=True), timeout_s=1500)
            answer = client.recommend(["355908", "248676"], k=10)
            figures["e2e_run_and_answer_s"] = round(time.perf_counter() - started, 1)
            figures["served_items"] = float(len(answer.items))
            time.sleep(embedded_bench.IDLE_WAIT_S)
            figures["containers_rss_idle_mb"] = round(memory.measure(), 1)
        figures["containers_rss_peak_mb"] = round(max(memory.peak, figures["containers_rss_idle_mb"]), 1)
        figures["containers"] = float(len(compose.containers()))
    finally:
        compose.run("down", "-v", timeout=600)
    embedded = embedded_bench.run()
    figures.update(
        {
            f"embedded_{key}": value
            for key, value in embedded.items()
            if key
            in (
                "demo_warm_s",
                "stack_up_and_shop_load_s",
                "e2e_run_and_answer_s",
                "stack_pss_peak_mb",
                "stack_pss_idle_mb",
                "reference_fit_and_evaluate_s",
            )
        }
    )
    reference_s = embedded["reference_fit_and_evaluate_s"]
    figures["ratio_e2e_to_reference"] = round(figures["e2e_run_and_answer_s"] / reference_s, 1)
    figures["ratio_e2e_compose_to_embedded"] = round(
        figures["e2e_run_and_answer_s"] / embedded["e2e_run_and_answer_s"], 2
    )
    figures["ratio_memory_idle_compose_to_embedded"] = round(
        figures["containers_rss_idle_mb"] / embedded["stack_pss_idle_mb"], 2
    )
    figures["engine_" + engine] = 1.0
    return figures


if __name__ == "__main__":
    print(run())
