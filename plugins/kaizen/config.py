"""Kaizen's configuration: one typed object, read from environment variables.

Every setting has a documented default that suits the embedded stack. ``kaizen up``
writes the values it resolved (database URLs with generated passwords, ports) to
``$KAIZEN_HOME/stack.env``; any process that reads the settings later (the CLI, Airflow
tasks, the model server) sees those values unless its own environment overrides them.
docker compose and Terraform set the same variable names.

Standard library only: the serving environment imports this module too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kaizen.errors import ConfigError

STACK_ENV_FILE = "stack.env"
ONLINE_STORES = ("postgres", "redis")
CHAMPION_ALIAS = "champion"  # the registry alias the model server serves
# The Airflow pool of one slot every task that moves @champion runs in (infra/docker/airflow-pools.sh).
REGISTRY_POOL = "kaizen_registry"
# The MLflow experiment of partner models' intake runs (kaizen.handover), beside KAIZEN_EXPERIMENT's training runs.
HANDOVER_EXPERIMENT = "kaizen-handover"
# The Feast feature service the model server filters with (kaizen.features.definitions);
# here because neither the serving environment nor a health probe may import Feast.
SERVING_FEATURE_SERVICE = "serving_v1"
# The checkout this package runs from (plugins/kaizen/config.py -> the repository root).
PROJECT_DIR = Path(__file__).resolve().parents[2]


def _setting(env: str, default, doc: str):
    return field(default=default, metadata={"env": env, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """All of Kaizen's settings. ``Settings.from_env()`` is the way to get one."""

    home: Path = _setting("KAIZEN_HOME", Path(".kaizen"), "State, logs and the embedded stack's data.")
    host: str = _setting("KAIZEN_HOST", "127.0.0.1", "Address the embedded services bind to and are reached on.")

    database_url: str = _setting(
        "KAIZEN_DATABASE_URL",
        "",
        "Admin URL of an existing PostgreSQL server; empty starts a private cluster under KAIZEN_HOME.",
    )
    database_prefix: str = _setting(
        "KAIZEN_DATABASE_PREFIX", "", "Prefix for the per-component databases and roles (to share one server)."
    )
    postgres_port: int = _setting("KAIZEN_POSTGRES_PORT", 0, "Port of the private cluster; 0 picks a free one once.")
    shop_db_url: str = _setting(
        "KAIZEN_SHOP_DB_URL", "", "Kaizen's login to the shop's database (the source): SELECT is all it needs."
    )
    shop_mapping: Path = _setting(
        "KAIZEN_SHOP_MAPPING",
        Path(""),
        "YAML file: how the shop's tables map to Kaizen's events and catalogue; empty is the demo shop's.",
    )
    demo_shop_db_url: str = _setting(
        "KAIZEN_DEMO_SHOP_DB_URL",
        "",
        "The demo shop's own login (owns its tables): `kaizen shop load` and `generate` write there; never Airflow's.",
    )
    kaizen_db_url: str = _setting(
        "KAIZEN_DB_URL", "", "Kaizen's own database: quarantine, prediction log, ingestion bookkeeping."
    )
    airflow_db_url: str = _setting("KAIZEN_AIRFLOW_DB_URL", "", "Airflow's metadata database.")
    mlflow_db_url: str = _setting("KAIZEN_MLFLOW_DB_URL", "", "MLflow's backend store.")
    feast_db_url: str = _setting("KAIZEN_FEAST_DB_URL", "", "Feast's SQL registry and PostgreSQL online store.")
    prediction_log_db_url: str = _setting(
        "KAIZEN_PREDICTION_LOG_DB_URL",
        "",
        "The model server's login to Kaizen's database: may insert prediction rows, nothing else. Empty: no log.",
    )

    feast_online_store: str = _setting(
        "KAIZEN_FEAST_ONLINE_STORE",
        "postgres",
        "Feast online store: postgres (the feast database) or redis (KAIZEN_REDIS_URL).",
    )
    redis_url: str = _setting(
        "KAIZEN_REDIS_URL", "", "Redis for Feast's online store, redis://[:password@]host:port/db."
    )

    feature_server_port: int = _setting("KAIZEN_FEATURE_SERVER_PORT", 6566, "Feast feature server (feast serve).")
    feature_server_url: str = _setting(
        "KAIZEN_FEATURE_SERVER_URL", "", "Feature server the model server asks; empty derives it from host and port."
    )
    item_refresh_s: float = _setting(
        "KAIZEN_ITEM_REFRESH_S",
        5.0,
        "How often the model server reloads every servable item's availability and category from the feature server.",
    )
    item_max_age_s: float = _setting(
        "KAIZEN_ITEM_MAX_AGE_S",
        15.0,
        'Staleness bound of those item attributes: older, answers say "stale" and the model server is not ready.',
    )

    airflow_port: int = _setting("KAIZEN_AIRFLOW_PORT", 8080, "Airflow api-server (UI and REST API).")
    airflow_api_user: str = _setting(
        "KAIZEN_AIRFLOW_API_USER",
        "kaizen",
        "Airflow user (role User) as whom tasks write run notes; its password is KAIZEN_AIRFLOW_API_PASSWORD.",
    )
    airflow_parallelism: int = _setting(
        "KAIZEN_AIRFLOW_PARALLELISM", 4, "Task slots; each idle LocalExecutor worker costs ~150 MB."
    )
    mlflow_port: int = _setting("KAIZEN_MLFLOW_PORT", 5000, "MLflow tracking server and artifact proxy.")
    serving_port: int = _setting("KAIZEN_SERVING_PORT", 9000, "Model server REST port (Seldon's default).")
    serving_grpc_port: int = _setting("KAIZEN_SERVING_GRPC_PORT", 5001, "Model server gRPC port.")
    serving_metrics_port: int = _setting("KAIZEN_SERVING_METRICS_PORT", 6000, "Model server Prometheus metrics.")

    lake_dir: Path = _setting("KAIZEN_LAKE_DIR", Path(""), "Parquet lake; empty means KAIZEN_HOME/lake.")
    shop_opened: datetime = _setting(
        "KAIZEN_SHOP_OPENED",
        datetime(2000, 1, 1, tzinfo=UTC),
        "Events before this moment (UTC; a date means its midnight) are quarantined as impossible; "
        "also ingestion's start date.",
    )
    ingest_lateness_hours: float = _setting(
        "KAIZEN_INGEST_LATENESS_HOURS", 48.0, "How late an event may arrive and still reach its day's partition."
    )
    ingest_max_bad_rate: float = _setting(
        "KAIZEN_INGEST_MAX_BAD_RATE", 0.05, "An ingestion run fails when more than this share of rows is quarantined."
    )
    max_session_events: int = _setting(
        "KAIZEN_MAX_SESSION_EVENTS", 1000, "A session with more events in one extraction chunk is quarantined as a bot."
    )
    ingest_chunk_events: int = _setting(
        "KAIZEN_INGEST_CHUNK_EVENTS",
        250_000,
        "Ingestion extracts and validates whole days, about this many events at a time: memory stays flat.",
    )
    ingest_reconcile_days: int = _setting(
        "KAIZEN_INGEST_RECONCILE_DAYS",
        30,
        "Days before a run's window whose source count is checked against what was ingested; changed ones are "
        "ingested again (events later than the lateness margin).",
    )
    model_name: str = _setting("KAIZEN_MODEL_NAME", "kaizen-recommender", "Registered model name in MLflow.")
    experiment: str = _setting("KAIZEN_EXPERIMENT", "kaizen-recommender", "MLflow experiment of training runs.")
    serving_poll_s: float = _setting(
        "KAIZEN_SERVING_POLL_S", 3.0, "How often the model server checks the registry for a new @champion."
    )
    exclude_seen: bool = _setting(
        "KAIZEN_EXCLUDE_SEEN", False, "Default of a request's exclude_seen: leave out items already in the session."
    )
    serving_model_version: str = _setting(
        "KAIZEN_MODEL_VERSION", "", "Pin the model server to one registry version; empty follows @champion."
    )
    deploy_target: str = _setting(
        "KAIZEN_DEPLOY_TARGET", "local", "Where deploy_recommender deploys: local (embedded, compose) or kubernetes."
    )
    model_server_image: str = _setting(
        "KAIZEN_MODEL_SERVER_IMAGE", "kaizen/model-server:latest", "Image the SeldonDeployment manifests run."
    )
    deploy_timeout_s: float = _setting(
        "KAIZEN_DEPLOY_TIMEOUT_S", 60.0, "How long a roll-out waits for the model server to serve the new version."
    )
    deploy_p99_budget_ms: float = _setting(
        "KAIZEN_DEPLOY_P99_BUDGET_MS", 50.0, "A roll-out fails when the smoke requests' p99 latency exceeds this."
    )
    mlflow_tracking_uri: str = _setting(
        "MLFLOW_TRACKING_URI", "", "MLflow server URL; empty derives it from host and port."
    )
    model_server_url: str = _setting(
        "KAIZEN_MODEL_SERVER_URL", "", "Model server URL; empty derives it from host and port."
    )
    airflow_url: str = _setting(
        "KAIZEN_AIRFLOW_URL", "", "Airflow api-server URL; empty derives it from host and port."
    )
    serving_venv: Path = _setting(
        "KAIZEN_SERVING_VENV", Path(""), "The serving environment (seldon-core); empty means .venv/serving."
    )
    code_version: str = _setting(
        "KAIZEN_CODE_VERSION",
        "",
        "Code version recorded on every model; empty reads the git checkout, else the package version.",
    )

    start_paused: bool = _setting(
        "KAIZEN_START_PAUSED",
        False,
        "Create the DAGs paused; by default the nightly chain (ingest, features, train, deploy, monitor) runs at once.",
    )
    monitor_lookback_days: int = _setting(
        "KAIZEN_MONITOR_LOOKBACK_DAYS",
        7,
        "Monitoring measures the answers logged in the last this many days against the lake's newest days.",
    )
    monitor_min_answers: int = _setting(
        "KAIZEN_MONITOR_MIN_ANSWERS", 200, "Fewer judged answers in the recent window: no quality verdict."
    )
    monitor_max_quality_drop: float = _setting(
        "KAIZEN_MONITOR_MAX_QUALITY_DROP",
        0.2,
        "Relative fall of the served version's online HR@20 (recent day against its earlier days) that counts as a "
        "quality drop: alert and retrain.",
    )
    monitor_max_fallback_share: float = _setting(
        "KAIZEN_MONITOR_MAX_FALLBACK_SHARE",
        0.05,
        "Share of recent answers served stale or without online features above which an alert is raised.",
    )
    drift_reference_days: int = _setting(
        "KAIZEN_DRIFT_REFERENCE_DAYS",
        3,
        "Days at the end of the served version's training data that drift compares with.",
    )
    drift_current_days: int = _setting(
        "KAIZEN_DRIFT_CURRENT_DAYS", 1, "Newest days of the lake (after that training data) that drift checks."
    )
    drift_popularity_js: float = _setting(
        "KAIZEN_DRIFT_POPULARITY_JS",
        0.15,
        "Drift when the Jensen-Shannon distance of views over the reference's 100 most viewed items (and the rest) "
        "exceeds this.",
    )
    drift_category_js: float = _setting(
        "KAIZEN_DRIFT_CATEGORY_JS", 0.15, "Drift when the Jensen-Shannon distance of the category mix exceeds this."
    )
    drift_session_length_ks: float = _setting(
        "KAIZEN_DRIFT_SESSION_LENGTH_KS",
        0.1,
        "Drift when the Kolmogorov-Smirnov statistic of views per session exceeds this.",
    )
    drift_new_items_share: float = _setting(
        "KAIZEN_DRIFT_NEW_ITEMS_SHARE",
        0.2,
        "Drift when more than this share of recent views are of items the reference never saw.",
    )
    drift_served_js: float = _setting(
        "KAIZEN_DRIFT_SERVED_JS",
        0.2,
        "Prediction drift when the Jensen-Shannon distance of recommended items (reference's 100 most recommended "
        "and the rest) exceeds this.",
    )
    retrain_cooldown_h: float = _setting(
        "KAIZEN_RETRAIN_COOLDOWN_H", 6.0, "After a self-started retraining, the next may start no sooner than this."
    )
    retrain_daily_cap: int = _setting(
        "KAIZEN_RETRAIN_DAILY_CAP", 2, "At most this many self-started retrainings in 24 hours."
    )
    eval_max_sessions: int = _setting(
        "KAIZEN_EVAL_MAX_SESSIONS",
        5000,
        "Test and validation windows with more sessions are scored on an even random sample of this many "
        "(the same for the same data); 0 scores them all.",
    )
    tuning_seconds: float = _setting(
        "KAIZEN_TUNING_SECONDS",
        900.0,
        "A training run's search (all compared families) starts no new trial after this long.",
    )
    retune_days: float = _setting(
        "KAIZEN_RETUNE_DAYS",
        7.0,
        "train_recommender's tune=auto searches again when the last search's data is older than this, or when "
        "monitoring started the run (drift, a quality drop); otherwise it reuses that search's choice.",
    )
    challenger_retention_days: float = _setting(
        "KAIZEN_CHALLENGER_RETENTION_DAYS",
        30.0,
        "Refused challengers older than this are archived by train_recommender (0 keeps them all).",
    )
    ci_record: Path = _setting(
        "KAIZEN_CI_RECORD",
        Path(""),
        "JSON of the last CI run (`kaizen maturity`'s ci criterion); empty means the checkout's .ci/last-run.json.",
    )
    maturity_recent_days: float = _setting(
        "KAIZEN_MATURITY_RECENT_DAYS",
        2.0,
        "`kaizen maturity` counts monitoring as flowing when its newest measurement is at most this old.",
    )
    handover_dir: Path = _setting(
        "KAIZEN_HANDOVER_DIR",
        Path(""),
        "Where `kaizen handover` and the handover DAGs write bundles; empty means KAIZEN_HOME/handover.",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "feast_online_store", self.feast_online_store.strip().lower())
        if self.feast_online_store not in ONLINE_STORES:
            raise ConfigError(
                f"KAIZEN_FEAST_ONLINE_STORE={self.feast_online_store!r}: expected one of {', '.join(ONLINE_STORES)}"
            )
        if not 0 < self.item_refresh_s < self.item_max_age_s:
            raise ConfigError(
                f"KAIZEN_ITEM_REFRESH_S={self.item_refresh_s:g} must be above 0 and below "
                f"KAIZEN_ITEM_MAX_AGE_S={self.item_max_age_s:g}: every answer would be stale"
            )
        if self.feast_online_store == "redis" and not self.redis_url:
            raise ConfigError(
                "KAIZEN_FEAST_ONLINE_STORE=redis needs KAIZEN_REDIS_URL (redis://[:password@]host:port/db)"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` over ``$KAIZEN_HOME/stack.env`` over defaults."""
        environ = dict(os.environ if environ is None else environ)
        home = Path(environ.get("KAIZEN_HOME") or cls.home).absolute()
        values = {**read_env_file(home / STACK_ENV_FILE), **environ, "KAIZEN_HOME": str(home)}
        kwargs = {}
        for f in dataclasses.fields(cls):
            raw = values.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            kwargs[f.name] = _convert(f.type, raw, f.metadata["env"])
        settings = cls(**kwargs)
        return settings._derive()

    def _derive(self) -> Settings:
        """Fill the settings whose defaults depend on others."""
        return dataclasses.replace(
            self,
            lake_dir=self.lake_dir if str(self.lake_dir) not in ("", ".") else self.home / "lake",
            handover_dir=self.handover_dir if str(self.handover_dir) not in ("", ".") else self.home / "handover",
            mlflow_tracking_uri=self.mlflow_tracking_uri or f"http://{self.host}:{self.mlflow_port}",
            model_server_url=self.model_server_url or f"http://{self.host}:{self.serving_port}",
            airflow_url=self.airflow_url or f"http://{self.host}:{self.airflow_port}",
            feature_server_url=self.feature_server_url or f"http://{self.host}:{self.feature_server_port}",
            serving_venv=self.serving_venv
            if str(self.serving_venv) not in ("", ".")
            else PROJECT_DIR / ".venv" / "serving",
        )

    @property
    def feast_repo_dir(self) -> Path:
        """Feast's repository: ``feature_store.yaml``, rendered from these settings."""
        return self.home / "feast"

    @property
    def serving_db_role(self) -> str:
        """The model server's database role, as the stacks provision it: insert-only on the prediction log."""
        return f"{self.database_prefix}serving"

    @property
    def dashboard_db_role(self) -> str:
        """Grafana's database role, where a stack runs Grafana: SELECT on monitoring's tables."""
        return f"{self.database_prefix}grafana"

    @property
    def shop_reader_role(self) -> str:
        """Kaizen's login to the demo shop, as the stacks provision it: SELECT on its tables, nothing else."""
        return f"{self.database_prefix}shop_reader"

    def as_env(self) -> dict[str, str]:
        """The settings as environment variables, for child processes and stack.env."""
        env = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            env[f.metadata["env"]] = str(value)
        return env

    @classmethod
    def documentation(cls) -> list[tuple[str, str, str]]:
        """(variable, default, meaning) for every setting: the table in docs/configuration.md."""

        def shown(default) -> str:
            if isinstance(default, datetime):
                return default.date().isoformat() if default.time() == datetime.min.time() else default.isoformat()
            return "" if default == Path("") else str(default)

        return [(f.metadata["env"], shown(f.default), f.metadata["doc"]) for f in dataclasses.fields(cls)]


def _convert(type_name: str, raw: str, env: str):
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "Path":
            return Path(raw)
        if type_name == "datetime":
            moment = datetime.fromisoformat(raw)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if type_name == "bool":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1", "yes")
        return raw
    except ValueError as exc:
        raise ConfigError(f"{env}={raw!r} is not a valid {type_name}") from exc


def mlflow_credentials(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(user, password) for an MLflow server with basic auth: the variables the mlflow client reads.

    Kept out of ``Settings`` so they never reach stack.env or another component's environment.
    """
    environ = os.environ if environ is None else environ
    username, password = environ.get("MLFLOW_TRACKING_USERNAME"), environ.get("MLFLOW_TRACKING_PASSWORD")
    return (username, password) if username and password else None


def alert_webhook_url(environ: Mapping[str, str] | None = None) -> str:
    """``KAIZEN_ALERT_WEBHOOK_URL``: where alerts are POSTed as Slack-compatible JSON (empty: the
    log only). Kept out of ``Settings``, like MLflow's password: a Slack webhook URL is a secret,
    and only Airflow's tasks send alerts."""
    environ = os.environ if environ is None else environ
    return environ.get("KAIZEN_ALERT_WEBHOOK_URL", "").strip()


def airflow_api_password(environ: Mapping[str, str] | None = None) -> str:
    """``KAIZEN_AIRFLOW_API_PASSWORD``: the password of the Airflow user (``KAIZEN_AIRFLOW_API_USER``)
    as whom tasks write their outcome on the run's page. A secret, so not in ``Settings``; empty:
    outcomes go to the task log only."""
    environ = os.environ if environ is None else environ
    return environ.get("KAIZEN_AIRFLOW_API_PASSWORD", "")


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file (comments and blank lines ignored); missing file is empty."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Write ``KEY=value`` lines readable only by the owner: they carry passwords."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Written by `kaizen up`: the embedded stack's resolved settings.\n"
    text += "".join(f"{key}={value}\n" for key, value in sorted(values.items()))
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text)
