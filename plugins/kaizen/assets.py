"""The Airflow Assets that chain Kaizen's DAGs: each stage runs on data, not on clocks."""

from airflow.sdk import Asset

# Written by ingest_shop_events: events/date=YYYY-MM-DD/ partitions and catalogue snapshots.
LAKE_EVENTS = Asset(name="lake_events", uri="kaizen://lake/events", group="kaizen")

# Written by materialize_features: feature tables in the lake, materialised online.
FEATURES = Asset(name="features", uri="kaizen://feast/recommender_v1", group="kaizen")

# Updated by train_recommender when a version is promoted to @champion.
MODEL_CHAMPION = Asset(name="model_champion", uri="kaizen://mlflow/kaizen-recommender@champion", group="kaizen")

# Updated by monitor_recommender on every run: online quality and drift were measured.
MONITORING = Asset(name="monitoring", uri="kaizen://monitoring/online_quality", group="kaizen")

# Updated by monitor_recommender when it starts a retraining (drift or a quality drop): the
# event's extra holds the reason.
RETRAIN_REQUESTED = Asset(name="retrain_requested", uri="kaizen://monitoring/retrain_requests", group="kaizen")
