"""The embedded stack: a warm ``make demo``'s time and the whole stack's memory.

Runs what ``make demo`` runs (``kaizen.stack.demo.demo``: start the stack, load the demo
shop, ``kaizen_e2e`` through Airflow's REST API, one served recommendation) on a private
stack (a temporary KAIZEN_HOME, free ports), with the environments already built: a warm
demo, less the CLI's start-up. Memory is the proportional set size (PSS: a page shared by
n processes counts 1/n in each) summed over every process of the stack, sampled each
second during the demo (peak) and after it, idle. The reference, measured in the same run:
fitting and evaluating the champion on the demo week in this process (the training task's
model work, pure CPU, no services), so ``ratio_demo_to_reference`` follows the code
rather than the machine's speed that hour.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time

import psutil

from bench.common import Sampler, median_seconds
from kaizen.config import Settings
from kaizen.datasets import read_retailrocket
from kaizen.models import DEFAULT_FAMILY, MODELS
from kaizen.stack import embedded
from kaizen.stack.demo import DEMO_DATA, demo
from kaizen.stack.supervisor import Supervisor
from kaizen.training.evaluation import evaluate
from kaizen.training.protocol import session_rec_split

MEMORY_BUDGET_MB = 4096  # the embedded stack's goal
IDLE_WAIT_S = 15  # after the demo: let the run's task processes exit


class StackMemory(Sampler):
    """PSS of supervisord and everything under it, sampled every second."""

    def __init__(self, supervisor: Supervisor):
        super().__init__(every_s=1.0)
        self.supervisor = supervisor

    def measure(self) -> float:
        return self.measure_with_count()[0]

    def measure_with_count(self) -> tuple[float, int]:
        """(PSS in MB, process count) now; (0, 0) before supervisord is up."""
        if not self.supervisor.is_running():
            return 0.0, 0
        root = psutil.Process(self.supervisor.pid())
        total, count = 0, 0
        for process in [root, *root.children(recursive=True)]:
            try:
                total += process.memory_full_info().pss
                count += 1
            except psutil.NoSuchProcess:  # a task process that just finished
                continue
        return total / 2**20, count


def run() -> dict:
    split = session_rec_split(read_retailrocket(DEMO_DATA))
    reference_s = median_seconds(lambda: evaluate(MODELS[DEFAULT_FAMILY]().fit(split.train), split.test), repeats=3)

    settings = Settings.from_env({**os.environ, **embedded.private_env("kaizen-bench-stack-")})
    try:
        with StackMemory(Supervisor(settings.home)) as memory:
            started, triggered = time.perf_counter(), []

            def say(line: str) -> None:
                if line.startswith("triggered"):  # the stack is up and the shop loaded
                    triggered.append(time.perf_counter() - started)
                print(f"  {line}", flush=True)

            answer = demo(settings, say=say)
            demo_s = time.perf_counter() - started
            idle_samples = []
            time.sleep(IDLE_WAIT_S)
            for _ in range(5):
                idle_samples.append(memory.measure_with_count())
                time.sleep(1)
    finally:
        embedded.down(settings)
        shutil.rmtree(settings.home, ignore_errors=True)
    idle_mb = statistics.median(mb for mb, _ in idle_samples)
    peak_mb = max(memory.peak, idle_mb)
    return {
        "demo_warm_s": round(demo_s, 1),
        "stack_up_and_shop_load_s": round(triggered[0], 1),
        "e2e_run_and_answer_s": round(demo_s - triggered[0], 1),
        "reference_fit_and_evaluate_s": round(reference_s, 2),
        "ratio_demo_to_reference": round(demo_s / reference_s, 1),
        "served_items": float(len(answer.items)),
        "stack_pss_peak_mb": round(peak_mb, 1),
        "stack_pss_idle_mb": round(idle_mb, 1),
        "stack_processes_idle": float(statistics.median(n for _, n in idle_samples)),
        "ratio_pss_peak_to_budget": round(peak_mb / MEMORY_BUDGET_MB, 3),
    }
