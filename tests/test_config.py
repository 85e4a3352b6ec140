from pathlib import Path

import pytest

from kaizen.config import Settings, write_env_file


def test_defaults_derive_urls(tmp_path):
    settings = Settings.from_env({"KAIZEN_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.lake_dir == tmp_path / "lake"
    assert settings.mlflow_tracking_uri == "http://127.0.0.1:5000"
    assert settings.model_server_url == "http://127.0.0.1:9000"
    assert settings.airflow_url == "http://127.0.0.1:8080"


def test_environment_beats_stack_env_beats_defaults(tmp_path):
    write_env_file(tmp_path / "stack.env", {"KAIZEN_POSTGRES_PORT": "5999", "KAIZEN_MLFLOW_PORT": "5111"})
    settings = Settings.from_env({"KAIZEN_HOME": str(tmp_path), "KAIZEN_MLFLOW_PORT": "5222"})
    assert settings.postgres_port == 5999
    assert settings.mlflow_port == 5222
    assert settings.mlflow_tracking_uri == "http://127.0.0.1:5222"
    assert (tmp_path / "stack.env").stat().st_mode & 0o077 == 0, "stack.env holds passwords"


def test_bad_number_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="KAIZEN_AIRFLOW_PORT='http' is not a valid int"):
        Settings.from_env({"KAIZEN_HOME": str(tmp_path), "KAIZEN_AIRFLOW_PORT": "http"})


CONFIGURATION_DOC = Path(__file__).parents[1] / "docs" / "configuration.md"


def documented_settings() -> dict[str, str]:
    """docs/configuration.md's settings table: variable -> default cell (backticks stripped)."""
    lines = CONFIGURATION_DOC.read_text().splitlines()
    start = lines.index("| variable | default | meaning |") + 2  # past the header and its rule
    table = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        variable, default = (cell.strip().strip("`") for cell in line.strip("|").split("|")[:2])
        table[variable] = default
    return table


def test_every_setting_is_documented_with_its_default():
    table = documented_settings()
    expected = {env: default for env, default, _ in Settings.documentation()}
    missing = sorted(set(expected) - set(table))
    assert not missing, f"docs/configuration.md lacks {missing}"
    stale = sorted(set(table) - set(expected))
    assert not stale, f"docs/configuration.md documents settings that do not exist: {stale}"
    wrong = {env: (table[env], default) for env, default in expected.items() if table[env] != default}
    assert not wrong, f"docs/configuration.md's defaults differ from Settings (documented, actual): {wrong}"


def test_booleans(tmp_path):
    assert Settings.from_env({"KAIZEN_HOME": str(tmp_path), "KAIZEN_EXCLUDE_SEEN": "true"}).exclude_seen is True
    assert Settings.from_env({"KAIZEN_HOME": str(tmp_path)}).exclude_seen is False
    with pytest.raises(ValueError, match="KAIZEN_EXCLUDE_SEEN='maybe' is not a valid bool"):
        Settings.from_env({"KAIZEN_HOME": str(tmp_path), "KAIZEN_EXCLUDE_SEEN": "maybe"})
