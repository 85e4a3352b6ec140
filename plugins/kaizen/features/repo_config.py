"""The Feast repository of this stack: ``feature_store.yaml`` rendered from the settings.

- Registry: SQL, on the ``feast`` database.
- Offline store: DuckDB over the lake's Parquet feature tables (``lake/features/``). Unlike
  the file (dask) store it keeps entity rows older than the first feature row (NULLs).
- Online store: PostgreSQL (the embedded stack, ``feast`` database) or Redis (docker
  compose, db 1; db 0 is Celery's broker), as ``Settings.feast_online_store`` says.
- Materialisation: Feast's local engine with a columnar output step (``materialize_engine``).

The file is rendered on every use rather than kept in the repository: it carries the
stack's passwords, and the settings are the one place the stores are chosen.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml
from feast import FeatureStore

from kaizen.config import Settings
from kaizen.db_urls import sqlalchemy_url
from kaizen.errors import ConfigError
from kaizen.features import materialize_engine, online_store

PROJECT = "kaizen"
# Rows written to the online store per batch while materialising: bounds memory (Feast
# holds one protobuf per value of a batch) without costing throughput.
ONLINE_WRITE_BATCH = 20_000
# Feast's PostgreSQL online store with COPY-based writes (same tables, same reads).
POSTGRES_ONLINE_STORE = online_store.TYPE
# Feast's local engine, writing whole columns instead of a protobuf per value.
MATERIALIZE_ENGINE = materialize_engine.TYPE


def redis_connection_string(url: str) -> str:
    """``redis://[user][:password]@host[:port][/db]`` (``rediss://`` for TLS) -> Feast's ``host:port,db=N,...``."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(f"KAIZEN_REDIS_URL is not a redis:// URL: {url!r}")
    options = [f"{parts.hostname or 'localhost'}:{parts.port or 6379}"]
    db = parts.path.lstrip("/")
    options.append(f"db={int(db) if db else 0}")
    for name, value in (("username", parts.username), ("password", parts.password)):
        if value:
            value = unquote(value)
            if "," in value:
                raise ConfigError(f"a Redis {name} cannot contain ',' in Feast's connection string")
            options.append(f"{name}={json.dumps(value)}")  # quoted: Feast json-decodes values
    if parts.scheme == "rediss":
        options.append("ssl=true")
    return ",".join(options)


def online_store_config(settings: Settings) -> dict:
    if settings.feast_online_store == "redis":
        # Writes are unconditional like PostgreSQL's: a recomputed day (late events) keeps its
        # timestamp and must still overwrite; refresh never materialises an old window on its own.
        return {"type": "redis", "connection_string": redis_connection_string(settings.redis_url), "skip_dedup": True}
    url = urlsplit(settings.feast_db_url)
    return {
        "type": POSTGRES_ONLINE_STORE,
        "host": url.hostname,
        "port": url.port or 5432,
        "database": url.path.lstrip("/"),
        "user": unquote(url.username or ""),
        "password": unquote(url.password or ""),
        # The URL's own sslmode (Terraform's URLs say require); without one, libpq's default
        # `prefer` would still fail on servers without TLS through Feast, hence disable.
        "sslmode": parse_qs(url.query).get("sslmode", ["disable"])[0],
    }


def render_config(settings: Settings, *, project: str = PROJECT) -> dict:
    """``feature_store.yaml`` for this stack; ``project`` keeps another project's registry and
    online rows apart in the same databases (tests, benchmarks)."""
    return {
        "project": project,
        "provider": "local",
        "registry": {
            "registry_type": "sql",
            "path": sqlalchemy_url(settings.feast_db_url),
            "cache_ttl_seconds": 60,
            # A pooled connection the server closed (a restart) is replaced, not handed out.
            "sqlalchemy_config_kwargs": {"echo": False, "pool_pre_ping": True},
        },
        "offline_store": {"type": "duckdb"},
        "online_store": online_store_config(settings),
        "batch_engine": {"type": MATERIALIZE_ENGINE},
        "materialization": {"pull_latest_features": True, "online_write_batch_size": ONLINE_WRITE_BATCH},
        "entity_key_serialization_version": 3,
    }


def write_config(settings: Settings, *, repo_path: Path | None = None, project: str = PROJECT) -> Path:
    """Write ``feature_store.yaml`` (to ``$KAIZEN_HOME/feast``): for the SDK, the CLI and ``feast serve``."""
    path = Path(repo_path) if repo_path else settings.feast_repo_dir
    path.mkdir(parents=True, exist_ok=True)
    config_file = path / "feature_store.yaml"
    config_file.touch(mode=0o600, exist_ok=True)  # it carries passwords
    config_file.write_text(yaml.safe_dump(render_config(settings, project=project), sort_keys=False))
    return path


def feature_store(settings: Settings, *, repo_path: Path | None = None, project: str = PROJECT) -> FeatureStore:
    """The store of this stack, its configuration rendered from the settings."""
    return FeatureStore(repo_path=str(write_config(settings, repo_path=repo_path, project=project)))


def online_store_kind(store: FeatureStore) -> str:
    """``postgres`` or ``redis``: which of the stack's online stores ``store`` writes to."""
    return "redis" if store.config.online_store.type == "redis" else "postgres"
