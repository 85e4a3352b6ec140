"""DAG integrity, run first: every file in ``dags/`` imports cleanly, fast and offline.

A broken DAG file would otherwise show up only in the slow stack tests, as a DAG that
never appears. Parsing happens in a fresh interpreter with outbound connections refused,
as the dag-processor parses them: a DAG file must not need the network at import time. The
one read it tries, deploy_recommender's list of registered versions for its form
(kaizen.registry.choices), is bounded to seconds and falls back to a free-text field, as here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kaizen.config import PROJECT_DIR, REGISTRY_POOL

DAGS_DIR = PROJECT_DIR / "dags"
PARSE_BUDGET_S = 5.0  # per file, on a busy two-core CI machine

PARSE = r"""
import json, socket, sys, time

def refuse(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(f"network access while parsing DAGs: {address}")
    return real_connect(self, address, *args)

real_connect = socket.socket.connect
socket.socket.connect = refuse
socket.socket.connect_ex = refuse

from airflow.dag_processing.dagbag import DagBag

report = {"files": {}, "errors": {}, "dags": {}}
for path in sys.argv[1:]:
    started = time.perf_counter()
    bag = DagBag(dag_folder=path)
    report["files"][path] = time.perf_counter() - started
    report["errors"].update({k: str(v) for k, v in bag.import_errors.items()})
    for dag_id, dag in bag.dags.items():
        args = dag.default_args or {}
        report["dags"][dag_id] = {
            "file": path,
            "doc_md": bool(dag.doc_md and dag.doc_md.strip()),
            "tags": sorted(dag.tags),
            "owner": args.get("owner", ""),
            "retries": args.get("retries"),
            "untimed_tasks": [t.task_id for t in dag.tasks if t.execution_timeout is None],
            "pools": {t.task_id: t.pool for t in dag.tasks},
        }
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        # Settings read at parse time must come from defaults, not a developer's stack.env.
        "KAIZEN_HOME": str(home / "kaizen"),
    }
    files = sorted(str(p) for p in DAGS_DIR.glob("*.py"))
    result = subprocess.run([sys.executable, "-c", PARSE, *files], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_dag_file_imports_without_errors_or_network(parsed):
    assert parsed["errors"] == {}


def test_every_dag_file_parses_quickly(parsed):
    slow = {Path(f).name: round(s, 2) for f, s in parsed["files"].items() if s > PARSE_BUDGET_S}
    assert not slow, f"parse time over {PARSE_BUDGET_S} s: {slow}"


def test_every_dag_file_defines_a_dag(parsed):
    files = {Path(info["file"]).name for info in parsed["dags"].values()}
    assert files == {p.name for p in DAGS_DIR.glob("*.py")}


def test_every_dag_explains_itself_and_says_who_owns_it_how_it_retries_and_when_to_give_up(parsed):
    problems = {
        dag_id: [
            what
            for what, bad in (
                ("doc_md", not info["doc_md"]),
                ("tags", "kaizen" not in info["tags"] or len(info["tags"]) < 2),
                ("owner", not info["owner"] or info["owner"] == "airflow"),
                ("retries", info["retries"] is None),
                (f"execution_timeout of {info['untimed_tasks']}", info["untimed_tasks"]),
            )
            if bad
        ]
        for dag_id, info in parsed["dags"].items()
    }
    assert not {k: v for k, v in problems.items() if v}


# Every task that moves @champion (or deletes versions an operator might roll back to).
ALIAS_MOVERS = {
    ("train_recommender", "gate"),
    ("train_recommender", "archive_refused"),
    ("kaizen_e2e", "gate"),
    ("kaizen_e2e", "deploy"),
    ("deploy_recommender", "roll_out"),
    ("handover_import", "gate"),
}


def test_every_task_that_moves_the_champion_runs_in_the_one_slot_pool(parsed):
    """max_active_runs is per DAG: the pool is what keeps gates and roll-outs of different DAGs
    from deciding against a champion another task is replacing."""
    pooled = {
        (d, t) for d, info in parsed["dags"].items() for t, pool in info["pools"].items() if pool == REGISTRY_POOL
    }
    assert pooled == ALIAS_MOVERS


def test_every_stack_creates_the_pool_with_one_script():
    script = PROJECT_DIR / "infra" / "docker" / "airflow-pools.sh"
    assert f"airflow pools set {REGISTRY_POOL} 1 " in script.read_text()
    docker = PROJECT_DIR / "infra" / "docker"
    assert "infra/docker/airflow-pools.sh /opt/kaizen/bin/airflow-pools" in (docker / "airflow.Dockerfile").read_text()
    assert "/opt/kaizen/bin/airflow-pools" in (docker / "airflow-init.sh").read_text()  # compose
    assert "/opt/kaizen/bin/airflow-pools" in (PROJECT_DIR / "infra" / "terraform" / "airflow.tf").read_text()
    from kaizen.stack.airflow import POOLS_SCRIPT  # the embedded stack, after airflow db migrate

    assert script == POOLS_SCRIPT
