"""Point-in-time training rows from Feast's offline store."""

from __future__ import annotations

import pandas as pd
from feast import FeatureService, FeatureStore


def training_set(store: FeatureStore, entity_df: pd.DataFrame, service: str | FeatureService) -> pd.DataFrame:
    """Each entity row with the service's feature values in force at its ``event_timestamp``, so
    no row sees values from its own future.

    ``entity_df``: ``item_id`` and ``event_timestamp`` (made UTC); labels and other columns
    pass through. Feature columns are named ``view__feature``; rows come back in time order.
    """
    if not isinstance(service, FeatureService):
        service = store.get_feature_service(service, allow_cache=True)
    frame = entity_df.assign(event_timestamp=pd.to_datetime(entity_df["event_timestamp"], utc=True))
    result = store.get_historical_features(entity_df=frame, features=service, full_feature_names=True).to_df()
    return result.sort_values("event_timestamp", kind="stable").reset_index(drop=True)
