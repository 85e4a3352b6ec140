"""An assessment: every criterion checked, the stage reached on each maturity model, and the
next three steps that would raise it.

A framework's stage is the highest level whose criteria, and every lower level's, all hold:
one failing practice at level 1 keeps a platform at level 0 whatever it does at level 2,
as the models themselves read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from kaizen.db_urls import redact
from kaizen.errors import KaizenError
from kaizen.maturity.criteria import BY_ID, CRITERIA, Criterion
from kaizen.maturity.evidence import CHECKS, UNKNOWN, Finding, SourceMissing, Sources
from kaizen.maturity.frameworks import FRAMEWORKS, Framework

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assessment:
    findings: tuple[Finding, ...]
    assessed_at: datetime
    platform: dict[str, str]  # what was assessed: the services' URLs and the model's name

    @property
    def complete(self) -> bool:
        """Every criterion was checked: only then do stages and next steps mean anything."""
        return {f.criterion for f in self.findings} == set(BY_ID)

    def holding(self) -> set[str]:
        return {f.criterion for f in self.findings if f.holds}

    def stage(self, framework: Framework) -> int:
        """The highest level of ``framework`` all of whose criteria (and lower levels') hold."""
        reached = 0
        for level in range(1, len(framework.levels)):
            needed = {c.id for c in CRITERIA if c.levels[framework.key] == level}
            if not needed <= self.holding():
                break
            reached = level
        return reached

    def next_steps(self, count: int = 3) -> list[Criterion]:
        """The failing criteria nearest to raising a stage: smallest gap to any framework's
        current stage first, then the smallest gap summed over the frameworks."""
        stages = {f.key: self.stage(f) for f in FRAMEWORKS}

        def gap(criterion: Criterion) -> tuple[int, int]:
            gaps = [criterion.levels[key] - stage for key, stage in stages.items()]
            return min(gaps), sum(gaps)

        failing = [BY_ID[f.criterion] for f in self.findings if not f.holds]
        return sorted(failing, key=gap)[:count]

    def as_dict(self) -> dict:
        """JSON-able; stages and next steps only when every criterion was checked."""
        whole = {
            "stages": {
                f.key: {"framework": f.name, "level": self.stage(f), "label": f.label(self.stage(f))}
                for f in FRAMEWORKS
            },
            "next_steps": [{"criterion": c.id, "title": c.title, "step": c.step} for c in self.next_steps()],
        }
        return {
            "assessed_at": self.assessed_at.isoformat(),
            "platform": self.platform,
            "criteria": [
                {
                    **f.as_dict(),
                    "title": BY_ID[f.criterion].title,
                    "levels": BY_ID[f.criterion].levels,
                    "recheck": BY_ID[f.criterion].recheck,
                }
                for f in self.findings
            ],
            **(whole if self.complete else {}),
        }


def assess(sources: Sources, only: tuple[str, ...] = ()) -> Assessment:
    """Run the checks (``only`` these when given), each on its own: a source that fails makes
    its criteria unknown, never the whole assessment."""
    findings = []
    for criterion in CRITERIA:
        if only and criterion.id not in only:
            continue
        try:
            findings.append(CHECKS[criterion.id](sources))
        except Exception as exc:  # Airflow, MLflow, Feast, psycopg2: each source raises its own types
            missing = isinstance(exc, SourceMissing)  # expected where a source is absent: the report says so
            log.log(logging.INFO if missing else logging.WARNING, "%s: not checked", criterion.id, exc_info=not missing)
            findings.append(Finding(criterion.id, UNKNOWN, (f"could not be checked: {_reason(exc)}",)))
    settings = sources.settings
    platform = {
        "airflow": redact(settings.airflow_url),
        "mlflow": redact(settings.mlflow_tracking_uri),
        "model_server": redact(settings.model_server_url),
        "model": settings.model_name,
    }
    return Assessment(tuple(findings), sources.now, platform)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0][:300] if text else ""
    return first if isinstance(exc, SourceMissing | KaizenError) else f"{type(exc).__name__}: {first}"
