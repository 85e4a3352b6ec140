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

MODELS = Recommender.registry
DEFAULT_FAMILY = "vstan"  # the family of the RetailRocket benchmark's champion (bench/results/quality.json)
AUTO_FAMILY = "auto"  # "let the validation window choose among CANDIDATE_FAMILIES" (kaizen.training.tuning)
CANDIDATE_FAMILIES = ("vstan", "slist", "sr", "markov")  # the literature's strongest, and the cheap rules

__all__ = [
    "AUTO_FAMILY",
    "CANDIDATE_FAMILIES",
    "DEFAULT_FAMILY",
    "MODELS",
    "SLIST",
    "STAN",
    "VSKNN",
    "VSTAN",
    "Markov",
    "Popularity",
    "Recommender",
    "SequentialRules",
    "Sessions",
    "load_model",
]
