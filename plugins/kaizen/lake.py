"""The Parquet lake, the contract between stages: ingestion writes it, features, training and
roll-out checks read it. ``events/date=YYYY-MM-DD/`` partitions and catalogue snapshots.

A run owns whole days: it rewrites every day of its range, empty ones included, so the
same range ingested twice leaves the same files' rows.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

PARTITIONING = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive")


def events_dir(lake_dir: Path) -> Path:
    return Path(lake_dir) / "events"


def catalog_dir(lake_dir: Path) -> Path:
    return Path(lake_dir) / "catalog"


def read_events(
    lake_dir: Path,
    columns: list[str] | None = None,
    newest_days: int | None = None,
    between: tuple[date, date] | None = None,
) -> pd.DataFrame:
    """Every event in the lake, or those of the ``newest_days`` newest days that hold any, or
    of the days ``between`` (first, last) (only their partitions are read); an empty frame when
    nothing was ingested yet."""
    path = events_dir(lake_dir)
    if not path.exists():
        return pd.DataFrame(columns=columns or [])
    dataset = ds.dataset(path, format="parquet", partitioning=PARTITIONING)
    days = sorted({Path(f).parent.name.removeprefix("date=") for f in dataset.files})
    where = None
    if newest_days:
        where = ds.field("date").isin(days[-newest_days:])
    if between:
        where = ds.field("date").isin([d for d in days if between[0].isoformat() <= d <= between[1].isoformat()])
    return dataset.to_table(columns=columns, filter=where).to_pandas()


def events_schema(lake_dir: Path) -> dict[str, str]:
    """The events' columns and their Arrow types, as the newest partition holds them (empty
    before the first ingestion): what a model trained elsewhere must have been trained on."""
    files = sorted(events_dir(lake_dir).glob("date=*/*.parquet"))
    if not files:
        return {}
    return {field.name: str(field.type) for field in pq.read_schema(files[-1])}


def latest_catalog(lake_dir: Path) -> pd.Series:
    """Each item's category in the newest catalogue snapshot (empty before the first)."""
    snapshots = sorted(catalog_dir(lake_dir).glob("date=*/products.parquet"))
    if not snapshots:
        return pd.Series(dtype=object)
    catalogue = pd.read_parquet(snapshots[-1], columns=["item_id", "category_id"])
    return catalogue.drop_duplicates("item_id", keep="last").set_index("item_id")["category_id"]


class DaysWriter:
    """Rewrites whole days: rows are written to a staging directory chunk by chunk, and the
    days are swapped in together at the end, so a reader sees a day's old or new files,
    never half of them, and memory holds one chunk at a time."""

    def __init__(self, lake_dir: Path, days: list[date]):
        self.root = events_dir(lake_dir)
        self.days = days
        self.staging = self.root / f"_staging-{uuid.uuid4().hex}"
        self.chunks = 0

    def write(self, table: pa.Table, dates: pa.Array) -> None:
        """Stage ``table``'s rows; ``dates`` gives each row's day (YYYY-MM-DD), one of ``days``."""
        if not table.num_rows:
            return
        ds.write_dataset(
            table.append_column("date", dates),
            self.staging,
            format="parquet",
            partitioning=PARTITIONING,
            basename_template=f"part-{self.chunks}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )
        self.chunks += 1

    def commit(self) -> None:
        """Swap every day in: each holds exactly the staged rows (none: the day is emptied)."""
        for day in self.days:
            final, new = self.root / f"date={day.isoformat()}", self.staging / f"date={day.isoformat()}"
            old = self.root / f"_old-{uuid.uuid4().hex}"
            if final.exists():
                final.rename(old)
            if new.exists():
                new.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def replace_days(table: pa.Table, lake_dir: Path, days: list[date], dates: pa.Array) -> None:
    """Make ``days``' partitions hold exactly ``table``'s rows (``dates`` gives each row's day)."""
    writer = DaysWriter(lake_dir, days)
    writer.write(table, dates)
    writer.commit()


def write_catalog(catalog: pd.DataFrame, lake_dir: Path, day: date) -> Path:
    path = catalog_dir(lake_dir) / f"date={day.isoformat()}" / "products.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.to_parquet(path, index=False)
    return path
