"""Bring Feast's registry in line with ``kaizen.features.definitions``.

Each registered object is compared with its definition, without Feast's bookkeeping, so
only what changed is applied and a refresh knows which views it must materialise whole.
"""

from __future__ import annotations

import logging
from pathlib import Path

from feast import Entity, FeatureService, FeatureStore, FeatureView, FileSource

from kaizen.features.definitions import item, services, views
from kaizen.features.repo_config import online_store_kind

log = logging.getLogger(__name__)


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
    kind = online_store_kind(store)
    for view in fv.values():
        view.tags = {**view.tags, "online_store": kind}
    fs = services(fv)
    wanted = [item, *(v.batch_source for v in fv.values()), *fv.values(), *fs.values()]
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
