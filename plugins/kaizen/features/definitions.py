"""Kaizen's Feast objects: the item entity, its feature views and versioned feature services.

Every view reads one Parquet table that ``kaizen.features.engineering`` writes under the
lake's ``features/`` directory; its fields come from the table's declaration in
``kaizen.features.tables``. The views have no TTL (``ttl=0``): the tables hold a row at
every change point of a value, so the row in force at any instant is simply the latest
one before it, however old.

Feature services are versions: once a model has been trained on one, change it only by
adding a new ``recommender_vN`` (the training run logs which service it used).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Bool, Float64, Int64, String, UnixTimestamp

from kaizen.config import SERVING_FEATURE_SERVICE
from kaizen.features.tables import (
    BOOL,
    FLOAT64,
    INT64,
    ITEM_ACTIVITY,
    ITEM_CATALOG,
    ITEM_WINDOWS,
    STRING,
    TIMESTAMP,
    Table,
)

NO_TTL = timedelta(0)
FEAST_TYPES = {STRING: String, INT64: Int64, FLOAT64: Float64, BOOL: Bool, TIMESTAMP: UnixTimestamp}
item = Entity(name="item", join_keys=["item_id"], value_type=ValueType.STRING, description="A catalogue item.")


def _view(lake_dir: Path, table: Table, description: str, stamped: str) -> FeatureView:
    return FeatureView(
        name=table.name,
        entities=[item],
        ttl=NO_TTL,
        schema=[Field(name=name, dtype=FEAST_TYPES[kind]) for name, kind in table.features.items()],
        source=FileSource(
            name=f"{table.name}_source", path=str(table.path(lake_dir)), timestamp_field="event_timestamp"
        ),
        online=True,
        description=description,
        tags={"stamped": stamped},
    )


def views(lake_dir: Path) -> dict[str, FeatureView]:
    windows = ", ".join(f"{w}" for w in ITEM_WINDOWS)
    return {
        "item_activity": _view(
            lake_dir,
            ITEM_ACTIVITY,
            f"Views, add-to-carts, purchases and their rates per view over the last {windows} days.",
            "end of day",
        ),
        "item_catalog": _view(
            lake_dir,
            ITEM_CATALOG,
            "Category, price, availability and first-seen time from the catalogue snapshots.",
            "when the value became valid",
        ),
    }


def services(fv: dict[str, FeatureView]) -> dict[str, FeatureService]:
    return {
        "recommender_v1": FeatureService(
            name="recommender_v1",
            features=[fv["item_activity"], fv["item_catalog"]],
            description="Item popularity, conversion and catalogue features: candidate re-ranking and business rules.",
            tags={"version": "1"},
        ),
        SERVING_FEATURE_SERVICE: FeatureService(
            name=SERVING_FEATURE_SERVICE,
            features=[fv["item_catalog"][["available", "category_id"]]],
            description="What the model server's business rules read per request: availability and category.",
            tags={"version": "1"},
        ),
    }
