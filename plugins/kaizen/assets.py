"""The Airflow Assets that chain Kaizen's DAGs: each stage runs on data, not on clocks."""

from airflow.sdk import Asset

# Written by ingest_shop_events: events/date=YYYY-MM-DD/ partitions and catalogue snapshots.
LAKE_EVENTS = Asset(name="lake_events", uri="kaizen://lake/events", group="kaizen")
