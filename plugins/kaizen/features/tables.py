"""The feature tables' schemas, declared once: what engineering writes and Feast serves.

``kaizen.features.engineering`` builds its frames and Parquet files from these
declarations and ``kaizen.features.definitions`` its Feast fields, so a column cannot be
added, renamed or retyped in one and forgotten in the other. Feast is not imported here:
engineering is plain pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from kaizen.errors import UpstreamMissing


@dataclass(frozen=True)
class ColumnType:
    """A column's type in the frames engineering builds (pandas) and in the Parquet files (arrow)."""

    pandas: object
    arrow: pa.DataType


STRING = ColumnType(object, pa.string())
INT64 = ColumnType("int64", pa.int64())
FLOAT64 = ColumnType("float64", pa.float64())
BOOL = ColumnType(bool, pa.bool_())
TIMESTAMP = ColumnType("datetime64[us, UTC]", pa.timestamp("us", tz="UTC"))


@dataclass(frozen=True)
class Table:
    """A feature table: one row per entity and change point, stamped when its values became known."""

    name: str
    key: str  # the entity's join key
    features: dict[str, ColumnType]

    @property
    def columns(self) -> dict[str, ColumnType]:
        """Every column, in file order: the key, the stamp, the features."""
        return {self.key: STRING, "event_timestamp": TIMESTAMP, **self.features}

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(name, kind.arrow) for name, kind in self.columns.items()])

    def path(self, lake_dir: Path) -> Path:
        return features_dir(lake_dir) / f"{self.name}.parquet"


def features_dir(lake_dir: Path) -> Path:
    return Path(lake_dir) / "features"


def written(path: Path) -> Path:
    """``path`` if the table is there: reading one that engineering has not written yet fails by name."""
    if not Path(path).exists():
        raise UpstreamMissing(f"no feature table at {path}: kaizen.features.engineering.build writes it")
    return Path(path)


ITEM_WINDOWS = (1, 7, 30)  # days
# Item activity counts these event types of the lake, and rates those per view.
COUNTED_EVENTS = {"view": "views", "addtocart": "carts", "transaction": "purchases"}
RATED_EVENTS = {"addtocart": "cart", "transaction": "purchase"}


def count_column(event_type: str, window: int) -> str:
    return f"{COUNTED_EVENTS[event_type]}_{window}d"


def rate_column(event_type: str, window: int) -> str:
    return f"{RATED_EVENTS[event_type]}_rate_{window}d"


ITEM_ACTIVITY = Table(
    "item_activity",
    "item_id",
    {
        **{count_column(e, w): INT64 for e in COUNTED_EVENTS for w in ITEM_WINDOWS},
        **{rate_column(e, w): FLOAT64 for e in RATED_EVENTS for w in ITEM_WINDOWS},
    },
)
ITEM_CATALOG = Table(
    "item_catalog",
    "item_id",
    {"category_id": STRING, "price": FLOAT64, "available": BOOL, "first_seen": TIMESTAMP},
)
TABLES = {table.name: table for table in (ITEM_ACTIVITY, ITEM_CATALOG)}
