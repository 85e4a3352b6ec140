"""docker-compose.yml kept in step with the embedded stack (static checks: no Docker engine here)."""

import re

import pytest
import yaml

from kaizen.config import PROJECT_DIR, Settings
from kaizen.stack.compose import LOAD_DEMO_EVENTS
from kaizen.stack.embedded import resolve

COMPOSE = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def env_example() -> set[str]:
    lines = (PROJECT_DIR / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def test_every_embedded_service_is_a_compose_service(tmp_path):
    embedded = {service.name for service in resolve(Settings.from_env({"KAIZEN_HOME": str(tmp_path)})).services}
    assert embedded <= set(SERVICES), embedded - set(SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_references_exist(name):
    service = SERVICES[name]
    for target in service.get("depends_on", {}):
        assert target in SERVICES, f"{name} depends on unknown {target}"
    build = service.get("build")
    if build:
        assert (PROJECT_DIR / build["context"] / build["dockerfile"]).is_file()
    if service.get("restart") != "no":
        assert "healthcheck" in service, f"long-running {name} has no healthcheck"


def test_every_variable_is_in_env_example():
    text = (PROJECT_DIR / "docker-compose.yml").read_text()
    variables = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    assert variables - env_example() == set()


def test_published_ports_match_the_embedded_defaults():
    defaults = {env: default for env, default, _ in Settings.documentation()}
    ports = {p for service in SERVICES.values() for p in service.get("ports", [])}
    for env in ("KAIZEN_AIRFLOW_PORT", "KAIZEN_MLFLOW_PORT", "KAIZEN_SERVING_PORT"):
        assert any(f"${{{env}:-{defaults[env]}}}" in p for p in ports), env


def test_no_plaintext_secret():
    text = (PROJECT_DIR / "docker-compose.yml").read_text()
    assert not re.search(r"(?i)(password|secret|fernet)[A-Z_]*:\s*[\"']?(?!\$\{)[A-Za-z0-9]{8,}", text)


def test_readme_loads_events_with_the_command_the_compose_test_runs():
    """The README's compose quick start and tests/test_compose_stack.py run the same load command."""
    readme = re.sub(r"\\\n\s*", " ", (PROJECT_DIR / "README.md").read_text())
    assert "docker compose " + " ".join(LOAD_DEMO_EVENTS) in re.sub(r"[ \t]+", " ", readme)
