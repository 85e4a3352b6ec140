"""Which code produced a model: recorded on every training run and model card.

Container images carry no git checkout, so the version is passed in (KAIZEN_CODE_VERSION,
a build argument of the images); a checkout names its commit; anything else names the
installed package. Standard library only, like the config it reads.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

from kaizen.config import PROJECT_DIR

PACKAGE = "kaizen"


def code_version(configured: str = "", project_dir: Path = PROJECT_DIR) -> str:
    """``configured`` (``Settings.code_version``) if set, else the checkout's short commit, else the package version."""
    if configured:
        return configured
    if (project_dir / ".git").exists():
        try:
            return subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=project_dir, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pass  # no git binary, or a checkout git refuses to read (another owner): name the package instead
    return metadata.version(PACKAGE)
