"""What the operator reads and chooses, without the stack: the deploy form's version labels, the
rule that a rollback needs a reason, how a failure reads as a note, and that writing a note can
never fail a task. The browser suite (tests/test_operator_ui.py) shows the same on the real UI."""

from __future__ import annotations

import logging

import pytest

from kaizen import run_notes
from kaizen.dag_defaults import _first_line, fail_fast
from kaizen.errors import ConfigError
from kaizen.registry.choices import label, version_param
from kaizen.registry.client import ModelVersion
from kaizen.serving.rollout import DeployRequest


def test_a_version_reads_with_its_aliases_and_the_gates_word():
    champion = ModelVersion(
        "m", "3", "r3", ("champion",), {"kaizen.gate.decision": "promoted", "kaizen.gate.reason": "no champion yet"}
    )
    assert label(champion) == "v3 · @champion · promoted (no champion yet)"
    by_hand = ModelVersion(
        "m", "2", "r2", (), {"kaizen.gate.decision": "refused", "kaizen.deploy.kind": "rollback", "x": "y"}
    )
    assert label(by_hand) == "v2 · refused · deployed by hand: rollback"
    assert label(ModelVersion("m", "1", "r1")) == "v1"


def test_an_unreachable_registry_leaves_the_version_field_free_text():
    assert version_param("http://127.0.0.1:9", "kaizen-recommender", timeout_s=1) == {}


def test_deploying_anything_but_the_champion_needs_a_reason():
    DeployRequest().check(champion="3")  # the champion again: nothing overridden
    DeployRequest("3").check(champion="3")
    with pytest.raises(ConfigError, match=r"version 1 over @champion v3 needs a reason of at least 10 characters"):
        DeployRequest("1", "  oops  ", "admin").check(champion="3")
    DeployRequest("1", "bad canary on v3", "admin").check(champion="3")
    assert DeployRequest.from_params({"version": "1", "reason": "why not"}, "ops") == DeployRequest(
        "1", "why not", "ops"
    )


def test_a_failure_reads_as_its_message_on_the_runs_page():
    @fail_fast
    def task():
        raise ConfigError("force_promote needs a force_reason")

    with pytest.raises(Exception) as failed:
        task()
    assert _first_line(failed.value) == "force_promote needs a force_reason"
    assert _first_line(RuntimeError("first line\ntraceback ...")) == "first line"


def test_writing_a_note_never_fails_the_task(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="kaizen.run_notes")
    monkeypatch.delenv("KAIZEN_AIRFLOW_API_PASSWORD", raising=False)
    assert not run_notes.publish("d", "r", "t", "v4 kept as @challenger")
    assert "outcome: v4 kept as @challenger" in caplog.text
    monkeypatch.setenv("KAIZEN_AIRFLOW_API_PASSWORD", "secret")
    monkeypatch.setenv("KAIZEN_AIRFLOW_URL", "http://127.0.0.1:9")
    assert not run_notes.publish("d", "r", "t", "x" * 5000)
    assert "in this log only" in caplog.text and "secret" not in caplog.text
