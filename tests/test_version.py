"""The code version recorded on every model: configured, else the checkout's commit, else the package's."""

import subprocess
from importlib import metadata

from kaizen.version import code_version


def git(directory, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, check=True).stdout.strip()


def test_the_configured_version_wins_over_the_checkout(tmp_path):
    (tmp_path / ".git").mkdir()
    assert code_version("v1.2.3-image", project_dir=tmp_path) == "v1.2.3-image"


def test_a_checkout_names_its_short_commit(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "README").write_text("kaizen\n")
    git(tmp_path, "add", "README")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first")
    assert code_version("", project_dir=tmp_path) == git(tmp_path, "rev-parse", "--short", "HEAD")


def test_without_a_checkout_the_installed_package_names_it(tmp_path):
    assert code_version("", project_dir=tmp_path) == metadata.version("kaizen")


def test_a_checkout_git_cannot_read_falls_back_to_the_package(tmp_path):
    (tmp_path / ".git").mkdir()  # not a repository: git rev-parse fails
    assert code_version("", project_dir=tmp_path) == metadata.version("kaizen")
