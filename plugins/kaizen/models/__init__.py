"""Session-based recommender models: fitted in training, loaded by the model server.

Scoring and the saved artifact need numpy only, so the serving environment (seldon-core's
old numpy, no scipy, no pandas) loads exactly what training wrote.
"""

from kaizen.models.base import Recommender, load_model
from kaizen.models.markov import Markov
from kaizen.models.popularity import Popularity
from kaizen.models.sequential_rules import SequentialRules
from kaizen.models.sessions import Sessions
from kaizen.models.slist import SLIST
from kaizen.models.stan import STAN
from kaizen.models.vsknn import VSKNN
from kaizen.models.vstan import VSTAN
from kaizen.models.vstan_category import CategoryVSTAN

MODELS = Recommender.registry
# What a pinned run (the CLI, the drift scenario) fits: the strongest family that needs clicks alone.
DEFAULT_FAMILY = "vstan"
AUTO_FAMILY = "auto"  # "let the validation window choose among CANDIDATE_FAMILIES" (kaizen.training.tuning)
# The literature's strongest, VSTAN with the catalogue's categories, and the cheap rules.
CANDIDATE_FAMILIES = ("vstan_category", "vstan", "slist", "sr", "markov")

__all__ = [
    "AUTO_FAMILY",
    "CANDIDATE_FAMILIES",
    "DEFAULT_FAMILY",
    "MODELS",
    "SLIST",
    "STAN",
    "VSKNN",
    "VSTAN",
    "CategoryVSTAN",
    "Markov",
    "Popularity",
    "Recommender",
    "SequentialRules",
    "Sessions",
    "load_model",
]
