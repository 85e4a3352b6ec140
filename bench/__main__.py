"""Run benchmarks and write ``bench/results/NAME.json``."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ALL = ("ingest", "features", "quality", "serving", "stack", "compose", "monitoring", "pipeline")


def main(names: list[str]) -> int:
    for name in names or ALL:
        if not (Path(__file__).parent / f"{name}.py").exists():
            print(f"no benchmark {name!r}; have: {', '.join(ALL)}", file=sys.stderr)
            return 2
        print(f"== bench {name}", flush=True)
        started = time.perf_counter()
        figures = importlib.import_module(f"bench.{name}").run()
        figures = {
            **figures,
            "bench_wall_s": round(time.perf_counter() - started, 1),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} {platform.node()} cpus={__import__('os').cpu_count()}",
        }
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
        print(json.dumps(figures, indent=2, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
