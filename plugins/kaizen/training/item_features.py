"""What training takes from the feature store: point-in-time item features at the split.

The session models learn their transitions from item ids and times (the lake's view
events). Their popularity, the list a cold session is answered with and the tie-breaker of
every ranking, comes from Feast: each item's ``item_activity:views_7d`` as it stood at the
start of the test window, joined point-in-time by ``get_historical_features``. Nothing of
the test window leaks in, and training uses the same feature definition the online store
serves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from feast.errors import FeatureServiceNotFoundException

from kaizen.config import Settings
from kaizen.errors import UpstreamMissing
from kaizen.features.repo_config import feature_store
from kaizen.features.training_sets import training_set

TRAINING_SERVICE = "recommender_v1"
POPULARITY = "item_activity__views_7d"
CATEGORY = "item_catalog__category_id"


def item_features(settings: Settings, item_ids: np.ndarray, as_of: pd.Timestamp) -> pd.DataFrame:
    """The feature service's values for every item as of ``as_of``: one row per item, ``view__feature`` columns."""
    store = feature_store(settings)
    try:
        service = store.get_feature_service(TRAINING_SERVICE)
    except FeatureServiceNotFoundException as exc:
        raise UpstreamMissing(
            f"feature service {TRAINING_SERVICE} is not registered in Feast: run the materialize_features DAG "
            "(or kaizen_e2e) before training"
        ) from exc
    entity_df = pd.DataFrame({"item_id": np.asarray(item_ids, dtype=str), "event_timestamp": as_of})
    return training_set(store, entity_df, service)


def recent_popularity(features: pd.DataFrame, vocabulary: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Views over the 7 days before the split, per vocabulary item; the training window's
    counts (scaled below one view) order items equally recent, such as those unseen lately."""
    views = features.set_index("item_id")[POPULARITY].reindex(vocabulary.astype(str))
    views = pd.to_numeric(views, errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
    return views + counts / (counts.max(initial=0.0) + 1.0)


def item_categories(features: pd.DataFrame) -> pd.Series:
    """Each item's category as the catalogue named it at the split (item id -> category id):
    what the category-aware families learn with."""
    return features.set_index("item_id")[CATEGORY].dropna().astype(str)
