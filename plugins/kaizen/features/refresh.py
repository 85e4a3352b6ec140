"""The feature stage's step (the ``materialize_features`` DAG): lake -> tables -> registry -> online store."""

from __future__ import annotations

from datetime import timedelta

from kaizen.config import Settings
from kaizen.features import engineering
from kaizen.features.materialization import materialization_window, materialize, stamp_range
from kaizen.features.registry_sync import apply
from kaizen.features.repo_config import PROJECT, feature_store, online_store_kind
from kaizen.features.tables import features_dir

# How far before the last materialised end a refresh re-reads: late events rewrite the
# lake's days back to the ingestion's lateness margin, and a day's rows are stamped at its end.
EXTRA_MARGIN = timedelta(days=1)


def refresh(settings: Settings, *, full: bool = False, project: str = PROJECT) -> dict:
    """Recompute the feature tables from the lake, apply changed definitions, materialise what is new.

    Returns a JSON-able summary (the DAG's XCom).
    """
    paths = engineering.build(settings.lake_dir)
    store = feature_store(settings, project=project)
    applied = apply(store, settings.lake_dir)
    margin = timedelta(hours=settings.ingest_lateness_hours) + EXTRA_MARGIN
    materialized = {}
    for name, path in paths.items():
        stamps = stamp_range(path)
        if stamps is None:
            continue
        last_end = store.get_feature_view(name).most_recent_end_time
        window = materialization_window(stamps, last_end, margin, full or name in applied["changed"])
        if window is None:
            continue
        materialize(store, window[0], window[1], [name])
        materialized[name] = {"start": window[0].isoformat(), "end": window[1].isoformat()}
    tables = {name: engineering.table_rows(path) for name, path in paths.items()}
    return {
        "features": str(features_dir(settings.lake_dir)),
        "rows": int(sum(tables.values())),
        "tables": tables,
        "applied": applied["applied"],
        "changed": applied["changed"],
        "materialized": materialized,
        "online_store": online_store_kind(store),
    }
