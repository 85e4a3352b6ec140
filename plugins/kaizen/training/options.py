"""What a training run is asked to do, checked when it is built so a run never starts on bad options."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from kaizen.errors import ConfigError
from kaizen.models import AUTO_FAMILY, MODELS
from kaizen.registry.gate import MIN_OVERRIDE_REASON, GatePolicy

# The DAG's ``tune`` Param: a search always, never, or when the data changed enough.
TUNE_CHOICES = {"auto": None, "always": True, "never": False}


@dataclass(frozen=True)
class TrainOptions:
    model: str = AUTO_FAMILY  # a family, or "auto": the best on the validation window
    params: dict = field(default_factory=dict)  # a pinned family's explicit parameters; never tuned
    train_days: float = 30.0  # history before the test window
    test_days: float = 2.0
    tune: bool | None = False  # None: when the data changed enough (train.choose_model)
    tuning_budget: int = 6  # trials per family
    seed: int = 0
    force_promote: bool = False
    force_reason: str = ""
    trigger_reason: str = ""  # why the run was started, when monitoring started it
    policy: GatePolicy = field(default_factory=GatePolicy)

    def __post_init__(self) -> None:
        if self.model not in MODELS and self.model != AUTO_FAMILY:
            raise ConfigError(f"unknown model {self.model!r}; one of {AUTO_FAMILY}, {', '.join(MODELS)}")
        if self.params and self.model == AUTO_FAMILY:
            raise ConfigError("explicit model parameters need a pinned model family, not auto")
        if self.force_promote and len(self.force_reason.strip()) < MIN_OVERRIDE_REASON:
            raise ConfigError(
                f"force_promote needs a force_reason of at least {MIN_OVERRIDE_REASON} characters saying why the "
                f"gate is overridden{f' (got {self.force_reason.strip()!r})' if self.force_reason.strip() else ''}; "
                "nothing was trained"
            )


def training_key(options: TrainOptions, data_digest: str, code: str) -> str:
    """What makes two trainings the same: the data, the code and what they were asked to do
    (not why they were started). Recorded on every version (``kaizen.training_key``)."""
    made_of = {
        "data": data_digest,
        "code": code,
        "model": options.model,
        "params": options.params,
        "train_days": options.train_days,
        "test_days": options.test_days,
        "tune": options.tune,
        "tuning_budget": options.tuning_budget if options.tune is not False else None,
        "seed": options.seed,
    }
    return hashlib.sha256(json.dumps(made_of, sort_keys=True, default=str).encode()).hexdigest()[:16]


def options_from_params(params: dict) -> TrainOptions:
    """TrainOptions from a DAG run's Params (the UI's trigger form)."""
    return TrainOptions(
        model=params["model"],
        train_days=float(params["train_days"]),
        test_days=float(params["test_days"]),
        tune=TUNE_CHOICES[params["tune"]],
        tuning_budget=int(params["tuning_budget"]),
        force_promote=bool(params["force_promote"]),
        force_reason=params.get("force_reason") or "",
        trigger_reason=params.get("retrain_reason") or "",
        policy=GatePolicy(
            primary=params["primary_metric"], margin=float(params["margin"]), tolerance=float(params["tolerance"])
        ),
    )
