"""Kaizen's Feast objects: entities, sources, feature views and versioned feature services.

Every view reads one Parquet table that ``kaizen.features.engineering`` writes under the
lake's ``features/`` directory. The views have no TTL (``ttl=0``): the tables hold a row at
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

from kaizen.features.engineering import ITEM_WINDOWS, item_activity_columns, table_path

NO_TTL = timedelta(0)
item = Entity(name="item", join_keys=["item_id"], value_type=ValueType.STRING, description="A catalogue item.")
category = Entity(
    name="category", join_keys=["category_id"], value_type=ValueType.STRING, description="A catalogue category."
)
session = Entity(name="session", join_keys=["session_id"], value_type=ValueType.STRING, description="A shop session.")

ENTITY_OF_VIEW = {"item_activity": item, "item_catalog": item, "category_trend": category, "session_stats": session}


def _source(lake_dir: Path, name: str) -> FileSource:
    return FileSource(name=f"{name}_source", path=str(table_path(lake_dir, name)), timestamp_field="event_timestamp")


def views(lake_dir: Path) -> dict[str, FeatureView]:
    windows = ", ".join(f"{w}" for w in ITEM_WINDOWS)
    activity_schema = [
        Field(name=name, dtype=Float64 if "_rate_" in name else Int64) for name in item_activity_columns()
    ]
    return {
        "item_activity": FeatureView(
            name="item_activity",
            entities=[item],
            ttl=NO_TTL,
            schema=activity_schema,
            source=_source(lake_dir, "item_activity"),
            online=True,
            description=f"Views, add-to-carts, purchases and their rates per view over the last {windows} days.",
            tags={"stamped": "end of day"},
        ),
        "item_catalog": FeatureView(
            name="item_catalog",
            entities=[item],
            ttl=NO_TTL,
            schema=[
                Field(name="category_id", dtype=String),
                Field(name="price", dtype=Float64),
                Field(name="available", dtype=Bool),
                Field(name="first_seen", dtype=UnixTimestamp),
            ],
            source=_source(lake_dir, "item_catalog"),
            online=True,
            description="Category, price, availability and first-seen time from the catalogue snapshots.",
            tags={"stamped": "when the value became valid"},
        ),
        "category_trend": FeatureView(
            name="category_trend",
            entities=[category],
            ttl=NO_TTL,
            schema=[
                Field(name="views_1d", dtype=Int64),
                Field(name="carts_1d", dtype=Int64),
                Field(name="purchases_1d", dtype=Int64),
                Field(name="views_7d", dtype=Int64),
                Field(name="views_prev_7d_avg", dtype=Float64),
                Field(name="view_trend", dtype=Float64),
            ],
            source=_source(lake_dir, "category_trend"),
            online=True,
            description="A category's views on a day against its average over the 7 days before.",
            tags={"stamped": "end of day"},
        ),
        "session_stats": FeatureView(
            name="session_stats",
            entities=[session],
            ttl=NO_TTL,
            schema=[
                Field(name="session_length", dtype=Int64),
                Field(name="distinct_items", dtype=Int64),
                Field(name="last_item_id", dtype=String),
                Field(name="last_category_id", dtype=String),
                Field(name="duration_s", dtype=Float64),
            ],
            source=_source(lake_dir, "session_stats"),
            # Offline only: at serving time the live session is the request itself, and
            # materialising every past session would grow the online store without bound.
            online=False,
            description=(
                "A session's events, distinct items, last item and category so far (by day end); for training sets."
            ),
            tags={"stamped": "end of day"},
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
        "recommender_v2": FeatureService(
            name="recommender_v2",
            features=[fv["item_activity"], fv["item_catalog"], fv["category_trend"], fv["session_stats"]],
            description="recommender_v1 plus the item's category trend and, in training sets, the session's context.",
            tags={"version": "2"},
        ),
        "serving_v1": FeatureService(
            name="serving_v1",
            features=[fv["item_catalog"][["available", "category_id"]]],
            description="What the model server's business rules read per request: availability and category.",
            tags={"version": "1"},
        ),
    }


def definitions(lake_dir: Path) -> list:
    """Everything ``apply`` registers; sources point into this stack's lake."""
    fv = views(lake_dir)
    return [item, category, session, *(v.batch_source for v in fv.values()), *fv.values(), *services(fv).values()]
