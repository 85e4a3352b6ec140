"""What went wrong, by name: the exceptions Kaizen raises on purpose.

One small hierarchy so callers (DAG tasks, the CLI, tests) can tell a misconfiguration
from a missing upstream stage or an unreachable service without parsing messages.
Standard library only: the serving environment imports it too.
"""

from __future__ import annotations


class KaizenError(Exception):
    """Base of every error Kaizen raises on purpose."""


class ConfigError(KaizenError, ValueError):
    """A setting, a DAG Param or an option is invalid; fix it and run again."""


class UpstreamMissing(KaizenError):
    """What this stage reads is not there yet: run the stage before it first."""


class DataQualityError(KaizenError):
    """Too much of the extracted data failed validation to trust the run."""


class RegistryError(KaizenError):
    """MLflow's registry could not be reached or answered with an error."""


class AlreadyRegistered(KaizenError):
    """The newest registered version was made from the same data, code and options: training
    again would register a copy, so nothing is done."""


class ChallengerKept(KaizenError):
    """The gate refused the challenger (kept as @challenger): the champion did not change, so
    nothing downstream of a promotion (deploy) has anything to do."""


class AliasMoved(RegistryError):
    """@champion no longer names the version a decision was made against: someone else moved
    it meanwhile, so the decision is stale and nothing was changed."""


class ModelServerError(KaizenError):
    """The model server could not be reached or answered with an error."""


class VerificationFailed(KaizenError):
    """A served version failed a roll-out check: wrong version, empty answers or latency budget."""


class RolloutError(KaizenError):
    """A roll-out failed; the previous champion was restored."""


class BadRequest(KaizenError, ValueError):
    """A prediction request that does not follow the documented schema (HTTP 400)."""


class HandoverRefused(KaizenError, ValueError):
    """A handover bundle failed verification (integrity, feature service, schema, model kind):
    the message says which check and why; nothing was registered."""


class StackError(KaizenError):
    """A component of the embedded or compose stack could not be found, started or provisioned."""
