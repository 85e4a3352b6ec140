"""The three MLOps maturity models Kaizen assesses against, level by level.

A model's levels are ordered: a platform stands at the highest level whose every criterion
(and every lower level's) holds (``kaizen.maturity.criteria`` maps each criterion to its
level on each model; docs/maturity.md gives the reasons and the sources).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Framework:
    key: str
    name: str
    levels: tuple[str, ...]  # index = level number
    source: str

    def label(self, level: int) -> str:
        """How the framework's own text names ``level``: "level 1 (...)" or the stage's name."""
        return self.levels[level] if self.key == "john" else f"level {level}: {self.levels[level]}"


GOOGLE = Framework(
    "google",
    "Google Cloud",
    ("manual process", "ML pipeline automation", "CI/CD pipeline automation"),
    "https://cloud.google.com/architecture/mlops-continuous-delivery-and-automation-pipelines-in-machine-learning",
)
AZURE = Framework(
    "azure",
    "Microsoft Azure",
    (
        "no MLOps",
        "DevOps but no MLOps",
        "automated training",
        "automated model deployment",
        "full MLOps automated operations",
    ),
    "https://learn.microsoft.com/azure/architecture/ai-ml/guide/mlops-maturity-model",
)
JOHN = Framework(
    "john",
    "John, Gillblad, Olsson and Bosch",
    ("Ad hoc", "DataOps", "Manual MLOps", "Automated MLOps", "Kaizen"),
    "M. M. John, D. Gillblad, H. H. Olsson, J. Bosch: Advancing MLOps from Ad hoc to Kaizen, SEAA 2023",
)
FRAMEWORKS = (GOOGLE, AZURE, JOHN)
