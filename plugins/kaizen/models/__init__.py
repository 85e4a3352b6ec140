"""Session-based recommender models: fitted in training, loaded by the model server.

Scoring and the saved artifact need numpy only, so the serving environment (seldon-core's
old numpy, no scipy, no pandas) loads exactly what training wrote.
"""

from kaizen.models.base import Recommender, load_model
from kaizen.models.popularity import Popularity
from kaizen.models.sequential_rules import SequentialRules
from kaizen.models.sessions import Sessions

MODELS = Recommender.registry

__all__ = ["MODELS", "Popularity", "Recommender", "SequentialRules", "Sessions", "load_model"]
