"""Extraction from the shop's PostgreSQL into the partitioned Parquet lake."""

from datetime import datetime, timezone

import pyarrow.dataset as ds

from conftest import RETAILROCKET
from kaizen.ingest.extract import events_dir, extract, extract_all
from kaizen.shop import loaders


def lake_rows(lake):
    table = ds.dataset(events_dir(lake), partitioning="hive").to_table()
    return sorted(zip(table["event_id"].to_pylist(), table["item_id"].to_pylist(), table["date"].to_pylist()))


def test_extract_writes_one_partition_per_day(fresh_db, tmp_path):
    loaders.load(fresh_db, "retailrocket", RETAILROCKET)
    result = extract_all(fresh_db, tmp_path)
    assert result.rows == 38_741
    assert result.partitions == [f"2015-09-{d}" for d in range(11, 19)]
    assert sorted(p.name for p in events_dir(tmp_path).iterdir()) == [f"date={p}" for p in result.partitions]


def test_same_interval_twice_gives_the_same_rows(fresh_db, tmp_path):
    loaders.load(fresh_db, "retailrocket", RETAILROCKET)
    day = (datetime(2015, 9, 14, tzinfo=timezone.utc), datetime(2015, 9, 15, tzinfo=timezone.utc))
    first = extract(fresh_db, tmp_path, *day)
    rows = lake_rows(tmp_path)
    second = extract(fresh_db, tmp_path, *day)
    assert first == second
    assert lake_rows(tmp_path) == rows
    assert len(rows) == first.rows > 0
