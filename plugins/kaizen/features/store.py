"""The Feast store of this stack: configuration rendered from Kaizen's settings, apply, materialise."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import yaml
from feast import FeatureStore

from kaizen.config import Settings
from kaizen.features.definitions import definitions
from kaizen.features.engineering import item_daily_stats
from kaizen.stack.postgres import sqlalchemy_url

log = logging.getLogger(__name__)

PROJECT = "kaizen"


def repo_dir(settings: Settings) -> Path:
    return settings.home / "feast"


def render_config(settings: Settings) -> dict:
    """``feature_store.yaml`` for this stack: SQL registry and online store on the feast database."""
    url = urlsplit(settings.feast_db_url)
    return {
        "project": PROJECT,
        "provider": "local",
        "registry": {"registry_type": "sql", "path": sqlalchemy_url(settings.feast_db_url), "cache_ttl_seconds": 60},
        "offline_store": {"type": "file"},
        "online_store": {
            "type": "postgres",
            "host": url.hostname,
            "port": url.port or 5432,
            "database": url.path.lstrip("/"),
            "user": unquote(url.username or ""),
            "password": unquote(url.password or ""),
            "sslmode": "disable",
        },
        "entity_key_serialization_version": 3,
    }


def feature_store(settings: Settings) -> FeatureStore:
    """The store, with its ``feature_store.yaml`` written to ``$KAIZEN_HOME/feast`` for the feast CLI."""
    path = repo_dir(settings)
    path.mkdir(parents=True, exist_ok=True)
    config_file = path / "feature_store.yaml"
    config_file.touch(mode=0o600, exist_ok=True)  # it carries the database password
    config_file.write_text(yaml.safe_dump(render_config(settings), sort_keys=False))
    return FeatureStore(repo_path=str(path))


def apply(store: FeatureStore, lake_dir: Path) -> list[str]:
    objects = definitions(lake_dir)
    store.apply(objects)
    return [getattr(o, "name", "") for o in objects]


def materialize(store: FeatureStore, start: datetime, end: datetime) -> None:
    log.info("materialising features from %s to %s", start, end)
    store.materialize(start_date=start, end_date=end)


def refresh(settings: Settings) -> dict:
    """Recompute the item features from the lake, apply the definitions, materialise everything."""
    path = item_daily_stats(settings.lake_dir)
    store = feature_store(settings)
    applied = apply(store, settings.lake_dir)
    stamps = pd.read_parquet(path, columns=["event_timestamp"])["event_timestamp"]
    materialize(store, stamps.min().to_pydatetime(), stamps.max().to_pydatetime() + timedelta(seconds=1))
    return {"features": str(path), "rows": int(len(stamps)), "applied": applied}
