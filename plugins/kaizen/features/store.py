"""The Feast store of this stack: configuration rendered from settings, apply, materialise, read.

- Registry: SQL, on the ``feast`` database.
- Offline store: DuckDB over the lake's Parquet feature tables (``lake/features/``). Unlike
  the file (dask) store it keeps entity rows older than the first feature row (NULLs).
- Online store: PostgreSQL (the embedded stack, ``feast`` database) or Redis (docker
  compose, db 1; db 0 is Celery's broker), chosen by ``KAIZEN_FEAST_ONLINE_STORE``.
- Materialisation: Feast's local engine with a columnar output step (``materialize_engine``).
"""

from __future__ import annotations

import json
import logging
import time
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from feast import Entity, FeatureService, FeatureStore, FeatureView, FileSource

from kaizen.config import Settings
from kaizen.db_urls import sqlalchemy_url
from kaizen.features import engineering
from kaizen.features.definitions import ENTITY_OF_VIEW, category, item, services, session, views

log = logging.getLogger(__name__)

PROJECT = "kaizen"
ONLINE_STORES = ("postgres", "redis")
DEFAULT_SERVICE = "recommender_v1"
# Rows written to the online store per batch while materialising: bounds memory (Feast
# holds one protobuf per value of a batch) without costing throughput.
ONLINE_WRITE_BATCH = 20_000
# How far before the last materialised end a refresh re-reads: late events rewrite the
# lake's days back to the ingestion's lateness margin, and a day's rows are stamped at its end.
EXTRA_MARGIN = timedelta(days=1)
# Feast's PostgreSQL online store with COPY-based writes (same tables, same reads).
POSTGRES_ONLINE_STORE = "kaizen.features.online_store.PostgreSQLCopyOnlineStore"
# Feast's local engine, writing whole columns instead of a protobuf per value.
MATERIALIZE_ENGINE = "kaizen.features.materialize_engine.ColumnarComputeEngine"


# ---------------------------------------------------------------- configuration


def online_store_choice(kind: str, redis_url: str) -> tuple[str, str]:
    """(online store kind, Redis URL), checked: ``KAIZEN_FEAST_ONLINE_STORE`` and ``KAIZEN_REDIS_URL``."""
    kind = kind.strip().lower()
    if kind not in ONLINE_STORES:
        raise ValueError(f"KAIZEN_FEAST_ONLINE_STORE={kind!r}: expected one of {', '.join(ONLINE_STORES)}")
    if kind == "redis" and not redis_url:
        raise ValueError("KAIZEN_FEAST_ONLINE_STORE=redis needs KAIZEN_REDIS_URL (redis://[:password@]host:port/db)")
    return kind, redis_url


def redis_connection_string(url: str) -> str:
    """``redis://[user][:password]@host[:port][/db]`` (``rediss://`` for TLS) -> Feast's ``host:port,db=N,...``."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"not a redis:// URL: {url!r}")
    options = [f"{parts.hostname or 'localhost'}:{parts.port or 6379}"]
    db = parts.path.lstrip("/")
    options.append(f"db={int(db) if db else 0}")
    for name, value in (("username", parts.username), ("password", parts.password)):
        if value:
            value = unquote(value)
            if "," in value:
                raise ValueError(f"a Redis {name} cannot contain ',' in Feast's connection string")
            options.append(f"{name}={json.dumps(value)}")  # quoted: Feast json-decodes values
    if parts.scheme == "rediss":
        options.append("ssl=true")
    return ",".join(options)


def online_store_config(kind: str, feast_db_url: str, redis_url: str = "") -> dict:
    if kind == "redis":
        # Writes are unconditional like PostgreSQL's: a recomputed day (late events) keeps its
        # timestamp and must still overwrite; refresh never materialises an old window on its own.
        return {"type": "redis", "connection_string": redis_connection_string(redis_url), "skip_dedup": True}
    url = urlsplit(feast_db_url)
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


def render_config(
    settings: Settings, *, online_store: str | None = None, redis_url: str | None = None, project: str = PROJECT
) -> dict:
    """``feature_store.yaml`` for this stack."""
    kind, redis_url = online_store_choice(
        online_store or settings.feast_online_store, redis_url if redis_url is not None else settings.redis_url
    )
    return {
        "project": project,
        "provider": "local",
        "registry": {"registry_type": "sql", "path": sqlalchemy_url(settings.feast_db_url), "cache_ttl_seconds": 60},
        "offline_store": {"type": "duckdb"},
        "online_store": online_store_config(kind, settings.feast_db_url, redis_url),
        "batch_engine": {"type": MATERIALIZE_ENGINE},
        "materialization": {"pull_latest_features": True, "online_write_batch_size": ONLINE_WRITE_BATCH},
        "entity_key_serialization_version": 3,
    }


def repo_dir(settings: Settings) -> Path:
    return settings.home / "feast"


def write_config(settings: Settings, *, repo_path: Path | None = None, **config) -> Path:
    """Write ``feature_store.yaml`` (to ``$KAIZEN_HOME/feast``): for the SDK, the CLI and ``feast serve``.

    ``config``: ``online_store``, ``redis_url``, ``project`` for ``render_config``.
    """
    path = Path(repo_path) if repo_path else repo_dir(settings)
    path.mkdir(parents=True, exist_ok=True)
    config_file = path / "feature_store.yaml"
    config_file.touch(mode=0o600, exist_ok=True)  # it carries passwords
    config_file.write_text(yaml.safe_dump(render_config(settings, **config), sort_keys=False))
    return path


def feature_store(settings: Settings, *, repo_path: Path | None = None, **config) -> FeatureStore:
    """The store of this stack, its configuration rendered from the settings."""
    return FeatureStore(repo_path=str(write_config(settings, repo_path=repo_path, **config)))


# ---------------------------------------------------------------- apply and materialise


def declared(obj) -> tuple:
    """What a definition says, without Feast's bookkeeping (timestamps, materialisation
    intervals, inferred columns): equal tuples mean nothing to apply."""
    if isinstance(obj, Entity):
        return ("entity", obj.name, obj.join_key, obj.value_type.name, obj.description, tuple(sorted(obj.tags.items())))
    if isinstance(obj, FeatureView):
        return (
            "view",
            obj.name,
            tuple(sorted(obj.entities)),
            obj.ttl,
            obj.online,
            tuple((f.name, str(f.dtype)) for f in obj.features),
            declared(obj.batch_source),
            obj.description,
            tuple(sorted(obj.tags.items())),
        )
    if isinstance(obj, FeatureService):
        return (
            "service",
            obj.name,
            tuple((p.name, tuple(f.name for f in p.features)) for p in obj.feature_view_projections),
            obj.description,
            tuple(sorted(obj.tags.items())),
        )
    if isinstance(obj, FileSource):
        mapping = tuple(sorted(obj.field_mapping.items()))
        return ("source", obj.name, obj.path, obj.timestamp_field, obj.created_timestamp_column, mapping)
    return ("other", type(obj).__name__, getattr(obj, "name", ""))


def apply(store: FeatureStore, lake_dir: Path) -> dict:
    """Register what changed and delete what was removed (this stack's repository is all of the project).

    Returns ``{"applied": [names of every definition], "changed": {name: "CREATE"|"UPDATE"|"DELETE"}}``.
    """
    fv = views(lake_dir)
    # Which online store the views are materialised into: a switch (postgres <-> redis) is a
    # change, so the new store gets everything instead of an incremental window.
    kind = "redis" if store.config.online_store.type == "redis" else "postgres"
    for view in fv.values():
        view.tags = {**view.tags, "online_store": kind}
    fs = services(fv)
    wanted = [item, category, session, *(v.batch_source for v in fv.values()), *fv.values(), *fs.values()]
    registered = [
        *[e for e in store.list_entities(allow_cache=False) if not e.name.startswith("__")],
        *store.list_data_sources(allow_cache=False),
        *store.list_feature_views(allow_cache=False),
        *store.list_feature_services(),
    ]
    current = {(type(o).__name__, o.name): o for o in registered}
    changed, to_apply = {}, []
    for obj in wanted:
        before = current.pop((type(obj).__name__, obj.name), None)
        if before is None or declared(before) != declared(obj):
            changed[obj.name] = "CREATE" if before is None else "UPDATE"
            to_apply.append(obj)
    to_delete = list(current.values())
    changed.update({o.name: "DELETE" for o in to_delete})
    if changed:
        store.apply(to_apply, objects_to_delete=to_delete, partial=False)
        log.info("feast apply: %s", changed)
    return {"applied": [o.name for o in wanted], "changed": changed}


def materialize(store: FeatureStore, start: datetime, end: datetime, feature_views: list[str] | None = None) -> None:
    log.info("materialising %s from %s to %s", feature_views or "every view", start, end)
    store.materialize(start_date=start, end_date=end, feature_views=feature_views)


def stamp_range(path: Path) -> tuple[datetime, datetime] | None:
    """(first, last) ``event_timestamp`` of a feature table; None when it is empty."""
    if not Path(path).exists():
        return None
    column = pq.read_table(path, columns=["event_timestamp"])["event_timestamp"]
    if len(column) == 0:
        return None
    bounds = pc.min_max(column)
    return _aware(bounds["min"].as_py()), _aware(bounds["max"].as_py())


def materialization_window(
    stamps: tuple[datetime, datetime], last_end: datetime | None, margin: timedelta, full: bool
) -> tuple[datetime, datetime] | None:
    """[start, end) to materialise a table whose rows span ``stamps``.

    Everything on the first run, after a definition changed or with ``full``; otherwise from
    ``margin`` before the last materialised end, so recomputed late days are written again.
    The end is just past the newest row: the latest row in the window is the latest of all.
    """
    first, last = stamps
    end = last + timedelta(seconds=1)
    start = first if full or last_end is None else max(first, _aware(last_end) - margin)
    return (start, end) if start < end else None


def refresh(settings: Settings, *, full: bool = False, **config) -> dict:
    """Recompute the feature tables from the lake, apply changed definitions, materialise what is new.

    ``config`` as for ``feature_store``. Returns a JSON-able summary (the DAG's XCom).
    """
    paths = engineering.build(settings.lake_dir)
    store = feature_store(settings, **config)
    applied = apply(store, settings.lake_dir)
    margin = timedelta(hours=settings.ingest_lateness_hours) + EXTRA_MARGIN
    materialized = {}
    online = {v.name for v in views(settings.lake_dir).values() if v.online}
    for name, path in paths.items():
        stamps = stamp_range(path)
        if stamps is None or name not in online:
            continue
        last_end = store.get_feature_view(name).most_recent_end_time
        window = materialization_window(stamps, last_end, margin, full or name in applied["changed"])
        if window is None:
            continue
        materialize(store, window[0], window[1], [name])
        materialized[name] = {"start": window[0].isoformat(), "end": window[1].isoformat()}
    tables = {name: engineering.table_rows(path) for name, path in paths.items()}
    return {
        "features": str(engineering.features_dir(settings.lake_dir)),
        "rows": int(sum(tables.values())),
        "tables": tables,
        "applied": applied["applied"],
        "changed": applied["changed"],
        "materialized": materialized,
        "online_store": "redis" if store.config.online_store.type == "redis" else "postgres",
    }


# ---------------------------------------------------------------- reading


# Feature references per (store, service), kept as long as the registry cache: resolving a
# service from the cached registry costs Feast ~6 ms (type checks), more than the read itself.
_REFS: weakref.WeakKeyDictionary[FeatureStore, dict] = weakref.WeakKeyDictionary()


def _service(store: FeatureStore, service: str | FeatureService) -> FeatureService:
    return service if isinstance(service, FeatureService) else store.get_feature_service(service, allow_cache=True)


def _refs_by_entity(fs: FeatureService) -> dict[str, list[str]]:
    refs: dict[str, list[str]] = {"item": [], "category": [], "session": []}
    for projection in fs.feature_view_projections:
        entity = ENTITY_OF_VIEW[projection.name].name
        refs[entity] += [f"{projection.name_to_use()}:{f.name}" for f in projection.features]
    return refs


def service_refs(store: FeatureStore, service: str) -> dict[str, list[str]]:
    """``{"item"|"category"|"session": ["view:feature", ...]}`` of a service, cached."""
    cached = _REFS.setdefault(store, {})
    ttl = store.config.registry.cache_ttl_seconds or 60
    expires, refs = cached.get(service, (0.0, None))
    if refs is None or time.monotonic() > expires:
        refs = _refs_by_entity(_service(store, service))
        cached[service] = (time.monotonic() + ttl, refs)
    return refs


def training_set(
    store: FeatureStore, entity_df: pd.DataFrame, service: str | FeatureService = DEFAULT_SERVICE
) -> pd.DataFrame:
    """Point-in-time training rows: each entity row gets the values in force at its ``event_timestamp``.

    ``entity_df``: ``item_id`` and ``event_timestamp`` (UTC), plus ``session_id`` for a
    service with session features; labels and other columns pass through. A service with
    category features needs ``category_id``; when it is missing it is taken, as of each
    row's time, from ``item_catalog``. Columns are named ``view__feature``.
    """
    fs = _service(store, service)
    refs = _refs_by_entity(fs)
    frame = entity_df.copy()
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    if refs["session"] and "session_id" not in frame:
        raise ValueError(f"feature service {fs.name} has session features: entity_df needs a session_id column")
    if refs["category"] and "category_id" not in frame:
        frame["_row"] = range(len(frame))
        as_of = store.get_historical_features(
            entity_df=frame[["_row", "item_id", "event_timestamp"]], features=["item_catalog:category_id"]
        ).to_df()
        frame["category_id"] = frame["_row"].map(as_of.set_index("_row")["category_id"])
        frame = frame.drop(columns="_row")
    result = store.get_historical_features(entity_df=frame, features=fs, full_feature_names=True).to_df()
    return result.sort_values("event_timestamp", kind="stable").reset_index(drop=True)


def online_features(store: FeatureStore, item_ids: Iterable[str], service: str = DEFAULT_SERVICE) -> dict[str, list]:
    """The service's online features of ``item_ids``: ``{"item_id": [...], "view__feature": [...]}``,
    one value per item in order, None where unknown (``pd.DataFrame(...)`` makes it a frame).

    Category features are those of each item's current category (one more round trip).
    Session features are not served: the live session is the request itself, and
    ``session_stats`` is kept offline, for training sets.
    """
    item_ids = [str(i) for i in item_ids]
    refs = service_refs(store, service)
    item_refs = refs["item"]
    if refs["category"] and "item_catalog:category_id" not in item_refs:
        item_refs = [*item_refs, "item_catalog:category_id"]
    columns = store.get_online_features(
        features=item_refs, entity_rows={"item_id": item_ids}, full_feature_names=True
    ).to_dict()
    if refs["category"]:
        item_categories = columns["item_catalog__category_id"]
        categories = sorted({c for c in item_categories if c is not None})
        trend: dict[str, list] = {}
        if categories:
            trend = store.get_online_features(
                features=refs["category"], entity_rows={"category_id": categories}, full_feature_names=True
            ).to_dict()
        position = {c: i for i, c in enumerate(trend.get("category_id", []))}
        for ref in refs["category"]:
            name = ref.replace(":", "__")
            values = trend.get(name, [])
            columns[name] = [values[position[c]] if c in position else None for c in item_categories]
    return columns


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
