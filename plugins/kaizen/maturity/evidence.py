"""The checks: each criterion asks the running platform, never a questionnaire.

A check reads one or two sources (Airflow's REST API, MLflow's registry, Feast's registry,
Kaizen's database, the model server, the checkout's CI record) and returns a ``Finding``:
whether the criterion holds, and the evidence that says so, each line a fact with its time.
A source that cannot be read makes the finding "unknown" with the reason: an unreachable
service is not evidence either way.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg2
from mlflow import MlflowClient

from kaizen.airflow_api import AirflowClient
from kaizen.config import CHAMPION_ALIAS, PROJECT_DIR, SERVING_FEATURE_SERVICE, Settings, alert_webhook_url
from kaizen.maturity.criteria import PIPELINE_DAGS
from kaizen.registry import tags
from kaizen.registry.champion import champion_version
from kaizen.registry.client import ModelVersion, RegistryClient
from kaizen.serving.client import ModelServerClient
from kaizen.version import code_version

HOLDS, FAILS, UNKNOWN = "holds", "fails", "unknown"
CI_RESULT = Path(".ci") / "last-run.json"  # written by .ci/run when it ends
GATE_TASK = ("train_recommender", "gate")
LOOK_BACK_VERSIONS = 200


@dataclass(frozen=True)
class Finding:
    criterion: str
    status: str  # HOLDS, FAILS or UNKNOWN
    evidence: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()  # (label, URL) where a person can look

    @property
    def holds(self) -> bool:
        return self.status == HOLDS

    def as_dict(self) -> dict:
        return {
            "criterion": self.criterion,
            "status": self.status,
            "evidence": list(self.evidence),
            "links": [{"label": label, "url": url} for label, url in self.links],
        }


@dataclass
class Sources:
    """Where the checks look; each read once per assessment. ``airflow`` is None when no login
    was possible (``airflow_error`` says why)."""

    settings: Settings
    airflow: AirflowClient | None
    airflow_error: str = ""
    # True inside an Airflow task: this process's environment is the one alerts are sent from.
    tasks_environment: bool = False
    project_dir: Path = PROJECT_DIR
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _versions: list[ModelVersion] | None = None

    def api(self) -> AirflowClient:
        if self.airflow is None:
            raise SourceMissing(f"Airflow's REST API: {self.airflow_error}")
        return self.airflow

    def dag(self, dag_id: str) -> dict | None:
        """The DAG's details, or None when Airflow does not know it."""
        return self.api().find(f"/dags/{dag_id}")

    def runs(self, dag_id: str, limit: int = 25) -> list[dict]:
        """The DAG's newest runs, newest first."""
        body = self.api().request("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-run_after", "limit": limit})
        return body.get("dag_runs", [])

    def versions(self) -> list[ModelVersion]:
        if self._versions is None:
            registry = RegistryClient(self.settings.mlflow_tracking_uri)
            self._versions = registry.versions(self.settings.model_name, newest=LOOK_BACK_VERSIONS)
        return self._versions

    @functools.cached_property
    def champion(self) -> ModelVersion | None:
        """``@champion``'s version with its tags (None when the alias is not set)."""
        version = champion_version(self.settings.mlflow_tracking_uri, self.settings.model_name)
        if version is None:
            return None
        found = MlflowClient(self.settings.mlflow_tracking_uri).get_model_version(self.settings.model_name, version)
        return ModelVersion(found.name, version, found.run_id, (CHAMPION_ALIAS,), dict(found.tags))

    def gate_runs(self, decision: str) -> list:
        """Runs (training and partner intake; retention deletes refused versions, not runs) the
        gate decided ``decision`` on, newest first."""
        client = MlflowClient(self.settings.mlflow_tracking_uri)
        experiments = [e.experiment_id for e in client.search_experiments()]
        return client.search_runs(
            experiments, f"tags.`{tags.DECISION}` = '{decision}'", max_results=1000, order_by=["start_time DESC"]
        )

    def dag_link(self, dag_id: str) -> tuple[str, str]:
        return (f"{dag_id} in Airflow", f"{self.settings.airflow_url.rstrip('/')}/dags/{dag_id}")

    def version_link(self, version: str) -> tuple[str, str]:
        name = quote(self.settings.model_name)
        return (
            f"v{version} in MLflow",
            f"{self.settings.mlflow_tracking_uri.rstrip('/')}/#/models/{name}/versions/{version}",
        )


class SourceMissing(Exception):
    """A source the check needs is not there to ask (no login, no checkout)."""


def _when(value: str | datetime | None) -> str:
    if value is None:
        return "never"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _schedule(dag: dict) -> str | None:
    """What starts the DAG by itself, in Airflow's words ("Triggered by assets or At 02:00"); None: only people."""
    return dag["timetable_description"] if dag.get("timetable_summary") else None


def _finding(criterion: str, holds: bool, evidence: list[str], links: list[tuple[str, str]] = ()) -> Finding:
    return Finding(criterion, HOLDS if holds else FAILS, tuple(evidence), tuple(links))


def check_ci(sources: Sources) -> Finding:
    configured = str(sources.settings.ci_record) not in ("", ".")
    checkout = (sources.project_dir / ".git").exists()
    if not configured and not checkout:
        raise SourceMissing(f"no repository checkout at {sources.project_dir} and KAIZEN_CI_RECORD is not set")
    record = sources.settings.ci_record if configured else sources.project_dir / CI_RESULT
    if not configured and not (sources.project_dir / ".ci" / "run").exists():
        return _finding("ci", False, ["no CI entry point: .ci/run does not exist"])
    if not record.exists():
        return _finding("ci", False, [f"no CI run is recorded ({record if configured else CI_RESULT} is missing)"])
    last = json.loads(record.read_text())
    commit = str(last.get("commit", "?"))
    on = commit[:9]
    if checkout:
        head = code_version("", sources.project_dir)
        on = "HEAD" if commit.startswith(head) else f"{commit[:9]}, HEAD is {head}"
    line = f"CI {last.get('status')} at {_when(last.get('finished_at'))} on {on} ({last.get('seconds', '?')} s)"
    return _finding("ci", last.get("status") == "passed", [line])


def check_pipelines(sources: Sources) -> Finding:
    evidence, links, holds = [], [], True
    for dag_id in PIPELINE_DAGS:
        dag = sources.dag(dag_id)
        if dag is None:
            evidence.append(f"{dag_id}: not in Airflow")
            holds = False
            continue
        schedule = _schedule(dag)
        finished = [run for run in sources.runs(dag_id) if run["state"] in ("success", "failed")]
        last = finished[0] if finished else None
        ok = not dag["is_paused"] and bool(schedule) and last is not None and last["state"] == "success"
        holds = holds and ok
        ran = f"last run {last['state']} at {_when(last.get('end_date'))} ({last['dag_run_id']})" if last else "no run"
        evidence.append(
            f"{dag_id}: {'paused' if dag['is_paused'] else 'unpaused'}, schedule {schedule or 'none'}, {ran}"
        )
        links.append(sources.dag_link(dag_id))
    return _finding("pipelines", holds, evidence, links)


def check_gate(sources: Sources) -> Finding:
    dag_id, task_id = GATE_TASK
    tasks = [t["task_id"] for t in sources.api().request("GET", f"/dags/{dag_id}/tasks").get("tasks", [])]
    promoted, refused = sources.gate_runs("promoted"), sources.gate_runs("refused")
    evidence = [
        f"{dag_id} {'has' if task_id in tasks else 'lacks'} the task {task_id}",
        f"runs the gate decided on: {len(promoted) + len(refused)} ({len(promoted)} promoted, {len(refused)} refused)",
    ]
    links = [sources.dag_link(dag_id)]
    if refused:
        newest = refused[0]
        version = newest.data.tags.get(tags.MODEL_VERSION, "?")
        evidence.append(f"last refusal: v{version}: {newest.data.tags.get(tags.NOTE, '')}")
        links.append(sources.version_link(version))
    return _finding("gate", task_id in tasks and bool(promoted) and bool(refused), evidence, links)


def check_feature_store(sources: Sources) -> Finding:
    from kaizen.features.repo_config import feature_store
    from kaizen.training.item_features import TRAINING_SERVICE

    store = feature_store(sources.settings)
    services = {service.name: service for service in store.list_feature_services()}
    champion = sources.champion
    trained_on = champion.tags.get("kaizen.feature_service", TRAINING_SERVICE) if champion else TRAINING_SERVICE
    evidence = [
        f"Feast project {store.project}: feature services {', '.join(sorted(services)) or 'none'}",
        f"@{CHAMPION_ALIAS} v{champion.version} was trained on {trained_on}" if champion else f"no @{CHAMPION_ALIAS}",
    ]
    materialised = True
    if SERVING_FEATURE_SERVICE in services:
        for projection in services[SERVING_FEATURE_SERVICE].feature_view_projections:
            intervals = store.get_feature_view(projection.name).materialization_intervals
            until = max((end for _, end in intervals), default=None)
            evidence.append(f"{projection.name} (serving) online until {_when(until)}")
            materialised = materialised and until is not None
    holds = champion is not None and {trained_on, SERVING_FEATURE_SERVICE} <= services.keys() and materialised
    return _finding("feature_store", holds, evidence)


def check_registry(sources: Sources) -> Finding:
    champion = sources.champion
    served = ModelServerClient(sources.settings.model_server_url).served_version()
    evidence = [
        f"{sources.settings.model_name}@{CHAMPION_ALIAS} = v{champion.version}" if champion else "no @champion alias",
        f"the model server at {sources.settings.model_server_url} serves v{served}" if served else "no version served",
    ]
    links = [sources.version_link(champion.version)] if champion else []
    return _finding("registry", champion is not None and served == champion.version, evidence, links)


def check_rollouts(sources: Sources) -> Finding:
    versions = sources.versions()
    verified = [v for v in versions if tags.VERIFIED in v.tags]
    rolled_back = [v for v in versions if tags.ROLLED_BACK_TO in v.tags]
    by_hand = [v for v in verified if v.tags.get(tags.DEPLOY_KIND) == "rollback"]
    evidence = [
        f"roll-outs verified: {len(verified)}"
        + (f", the last v{verified[0].version} at {_when(verified[0].tags[tags.VERIFIED])}" if verified else ""),
        *(
            f"v{v.version} failed verification and was rolled back to v{v.tags[tags.ROLLED_BACK_TO]}"
            for v in rolled_back[:3]
        ),
        *(
            f"v{v.version} restored by an operator's rollback (replaced v{v.tags.get(tags.PREVIOUS_CHAMPION, '?')})"
            for v in by_hand[:3]
        ),
    ]
    if not rolled_back and not by_hand:
        evidence.append("no rollback yet")
    links = [sources.version_link(v.version) for v in (verified[:1] + rolled_back[:1])]
    return _finding("rollouts", bool(verified) and bool(rolled_back or by_hand), evidence, links)


def _latest(url: str, table: str, column: str) -> tuple[int, datetime | None]:
    conn = psycopg2.connect(url, connect_timeout=10)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*), max({column}) FROM {table}")  # names from this module only
            return cur.fetchone()
    finally:
        conn.close()


def check_monitoring(sources: Sources) -> Finding:
    """Online quality must be recent; drift is shown, not required: it can only be checked once
    the lake holds days newer than the served version's training data."""
    url = sources.settings.kaizen_db_url
    if not url:
        raise SourceMissing("KAIZEN_DB_URL is not set")
    recent_days = sources.settings.maturity_recent_days
    evidence, newest_quality = [], None
    for table, column in (
        ("online_quality", "computed_at"),
        ("drift_checks", "checked_at"),
        ("prediction_log", "requested_at"),
    ):
        rows, newest = _latest(url, table, column)
        evidence.append(f"{table}: {rows} rows, the newest {_when(newest)}")
        newest_quality = newest if table == "online_quality" else newest_quality
    evidence.append(f"recent: within {recent_days:g} days (KAIZEN_MATURITY_RECENT_DAYS)")
    holds = newest_quality is not None and newest_quality >= sources.now - timedelta(days=recent_days)
    return _finding("monitoring", holds, evidence, [sources.dag_link("monitor_recommender")])


def check_retraining(sources: Sources) -> Finding:
    dag = sources.dag("train_recommender")
    if dag is None:
        return _finding("retraining", False, ["train_recommender: not in Airflow"])
    schedule = _schedule(dag)
    self_started = [
        r for r in sources.runs("train_recommender", 100) if r["run_type"] in ("scheduled", "asset_triggered")
    ]
    url = sources.settings.kaizen_db_url
    emitted = held = 0
    if url:
        conn = psycopg2.connect(url, connect_timeout=10)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FILTER (WHERE emitted), count(*) FILTER (WHERE NOT emitted) FROM retrain_requests"
                )
                emitted, held = cur.fetchone()
        finally:
            conn.close()
    evidence = [
        f"train_recommender: {'paused' if dag['is_paused'] else 'unpaused'}, schedule {schedule or 'none'}",
        f"its runs started by the schedule or an Asset: {len(self_started)}"
        + (f", the last {self_started[0]['dag_run_id']}" if self_started else ""),
        f"retrain_requests: {emitted} started a retraining, {held} held back by the cooldown or the cap",
    ]
    holds = bool(schedule) and not dag["is_paused"] and (bool(self_started) or emitted > 0)
    return _finding("retraining", holds, evidence, [sources.dag_link("train_recommender")])


def check_alerts(sources: Sources) -> Finding:
    url = alert_webhook_url()
    if not url and not sources.tasks_environment:
        raise SourceMissing(
            "KAIZEN_ALERT_WEBHOOK_URL is not set in this shell, which may not be Airflow's environment: "
            "the maturity_report DAG checks it where alerts are sent"
        )
    if not url:
        return _finding(
            "alerts", False, ["KAIZEN_ALERT_WEBHOOK_URL is not set for Airflow's tasks: alerts reach the log only"]
        )
    parts = urlsplit(url)
    # The host only: a webhook's URL is its password.
    evidence = [
        f"alerts are POSTed to a webhook on {parts.scheme}://{parts.hostname}",
        "every task's failure, a rollback, drift and a quality drop send one (kaizen.alerts.KINDS)",
    ]
    return _finding("alerts", parts.scheme in ("http", "https") and bool(parts.hostname), evidence)


CHECKS: dict[str, Callable[[Sources], Finding]] = {
    "ci": check_ci,
    "pipelines": check_pipelines,
    "gate": check_gate,
    "feature_store": check_feature_store,
    "registry": check_registry,
    "rollouts": check_rollouts,
    "monitoring": check_monitoring,
    "retraining": check_retraining,
    "alerts": check_alerts,
}
