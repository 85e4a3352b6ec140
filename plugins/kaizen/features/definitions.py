"""Kaizen's Feast objects: entities, sources, feature views and feature services."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Int64

from kaizen.features.engineering import features_dir

item = Entity(name="item", join_keys=["item_id"], value_type=ValueType.STRING, description="A catalogue item.")


def definitions(lake_dir: Path) -> list:
    """Everything ``apply`` registers; sources point into this stack's lake."""
    item_daily_source = FileSource(
        name="item_daily_stats_source",
        path=str(features_dir(lake_dir) / "item_daily_stats.parquet"),
        timestamp_field="event_timestamp",
    )
    item_daily_stats = FeatureView(
        name="item_daily_stats",
        entities=[item],
        ttl=timedelta(days=30),
        schema=[Field(name="views", dtype=Int64), Field(name="carts", dtype=Int64), Field(name="purchases", dtype=Int64)],
        source=item_daily_source,
        online=True,
        description="Views, add-to-carts and purchases of an item on its latest day.",
    )
    recommender_v1 = FeatureService(
        name="recommender_v1", features=[item_daily_stats], description="Features the recommender v1 reads."
    )
    return [item, item_daily_source, item_daily_stats, recommender_v1]
