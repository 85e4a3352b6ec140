"""The deploy form's choice of versions: which exist, which is @champion, what the gate said.

Read when the DAG file is parsed (Airflow's Params are static), so it must be quick and must
never break parsing: a registry that does not answer within seconds leaves the field free text.
"""

from __future__ import annotations

import logging
import textwrap

from kaizen.config import CHAMPION_ALIAS
from kaizen.errors import RegistryError
from kaizen.registry import tags
from kaizen.registry.client import ModelVersion, RegistryClient

log = logging.getLogger(__name__)

NEWEST = 30  # versions offered; an older one can still be deployed by REST or the CLI


def label(mv: ModelVersion) -> str:
    """A version as the dropdown shows it: ``v3 · @champion · promoted (MRR@20 .411 beats ...)``."""
    parts = [f"v{mv.version}", *(f"@{alias}" for alias in mv.aliases)]
    decision = mv.tags.get(tags.DECISION)
    if decision:
        reason = mv.tags.get(tags.REASON, "")
        parts.append(f"{decision} ({textwrap.shorten(reason, 80, placeholder=' …')})" if reason else decision)
    if mv.tags.get(tags.DEPLOY_KIND):
        parts.append(f"deployed by hand: {mv.tags[tags.DEPLOY_KIND]}")
    return " · ".join(parts)


def version_param(tracking_uri: str, name: str, timeout_s: float = 3.0) -> dict:
    """Keyword arguments for the ``version`` Param: ``enum`` (null first: the current champion)
    and ``values_display``; empty when the registry cannot be read now."""
    try:
        versions = RegistryClient(tracking_uri, timeout_s=timeout_s).versions(name, newest=NEWEST)
    except RegistryError as exc:
        log.warning("the deploy form lists no versions: %s", exc)
        return {}
    champion = next((mv.version for mv in versions if CHAMPION_ALIAS in mv.aliases), None)
    current = f"the current @{CHAMPION_ALIAS} (v{champion})" if champion else f"the current @{CHAMPION_ALIAS}"
    return {
        "enum": [None, *(mv.version for mv in versions)],
        "values_display": {"null": current, **{mv.version: label(mv) for mv in versions}},
    }
