"""Stage packages depend one way: import-linter's contracts in pyproject.toml hold.

A stage that imports one above it (features reaching into the stack, training into
serving) makes every change to the higher one a change to read in the lower one too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kaizen.config import PROJECT_DIR


def test_stage_packages_import_only_the_layers_below_them():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--config", str(PROJECT_DIR / "pyproject.toml"), "--no-cache"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
