"""Partner handover: bundles checked byte for byte, refused with the reason when they do not
fit, and imported models judged by the regular gate on this platform's own data."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import run_kaizen
from kaizen.config import CHAMPION_ALIAS, HANDOVER_EXPERIMENT, Settings
from kaizen.errors import HandoverRefused, UpstreamMissing
from kaizen.handover import bundle
from kaizen.handover.intake import MANIFEST_TAG, TAG, incoming, newest_bundle
from kaizen.registry import tags
from kaizen.registry.champion import CHALLENGER_ALIAS, champion_version
from kaizen.serving.client import ModelServerClient
from kaizen.serving.rollout import deploy
from kaizen.stack.demo import airflow_client, run_dag
from kaizen.training.options import TrainOptions
from kaizen.training.train import train_recommender

ARTIFACT = "model/artifacts/model.npz"


METADATA = {
    "model": {"name": "m", "version": "1", "kind": "vstan", "params": {}},
    "signature": {},
    "feature_service": "recommender_v1",
    "feature_services": {},
    "training_data": {"schema": {}, "digest": "d", "window": {}},
    "metrics": {},
    "protocol": {},
    "provenance": {"producer": "lab", "exported_at": "2026-12-01", "tracking_uri": "http://mlflow", "run_id": "r"},
}


def sealed(tmp_path: Path, metadata: dict = METADATA) -> Path:
    root = tmp_path / "src"
    (root / "model" / "artifacts").mkdir(parents=True)
    (root / ARTIFACT).write_bytes(bytes(range(256)) * 4)
    (root / "model_card.md").write_text("# a card\n")
    return bundle.seal(root, bundle.MODEL_KIND, metadata, tmp_path / "b.tar.gz")


def unpacked(path: Path, into: Path) -> Path:
    with tarfile.open(path) as tar:
        tar.extractall(into, filter="data")
    return into


def flip_a_byte(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if at is None else at
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_sealed_bundle_verifies_and_is_named_by_its_manifest(tmp_path):
    opened = bundle.open_bundle(sealed(tmp_path), tmp_path / "out")
    assert opened.kind == bundle.MODEL_KIND and opened.metadata["format"] == bundle.FORMAT
    assert opened.digest == bundle.sha256(opened.root / bundle.MANIFEST)
    assert set(json.loads((opened.root / bundle.MANIFEST).read_text())["files"]) == {
        ARTIFACT,
        "model_card.md",
        bundle.METADATA,
    }


def test_a_bundle_that_is_not_the_one_announced_is_refused_before_anything_is_read(tmp_path):
    path = sealed(tmp_path)
    with pytest.raises(HandoverRefused, match=r"the manifest's SHA-256 is [0-9a-f]{64}, not the 0{64} announced"):
        bundle.open_bundle(path, tmp_path / "out", "0" * 64)
    digest = bundle.open_bundle(path, tmp_path / "again").digest
    assert bundle.open_bundle(path, tmp_path / "third", digest.upper()).digest == digest


def test_a_bundle_json_without_what_its_kind_needs_is_refused_not_crashed(tmp_path):
    lacking = {k: v for k, v in METADATA.items() if k != "feature_service"}
    with pytest.raises(HandoverRefused, match=r"bundle\.json lacks 'feature_service'"):
        bundle.open_bundle(sealed(tmp_path, lacking), tmp_path / "out")
    no_run = {**METADATA, "provenance": {"producer": "lab"}}
    with pytest.raises(HandoverRefused, match=r"bundle.json lacks provenance\.exported_at"):
        bundle.open_bundle(sealed(tmp_path / "2", no_run), tmp_path / "out2")


def test_the_newest_model_bundle_dropped_in_incoming_is_the_default(tmp_path):
    settings = Settings.from_env({"KAIZEN_HOME": str(tmp_path)})
    with pytest.raises(UpstreamMissing, match="no model bundle in"):
        newest_bundle(settings)
    incoming(settings).mkdir(parents=True)
    for name, mtime in (("old.tar.gz", 1), ("new.tar.gz", 2), (f"{bundle.SNAPSHOT_PREFIX}x.tar.gz", 3)):
        (incoming(settings) / name).touch()
        os.utime(incoming(settings) / name, (mtime, mtime))
    assert newest_bundle(settings).name == "new.tar.gz"


def test_one_changed_byte_is_refused_naming_the_file(tmp_path):
    root = unpacked(sealed(tmp_path), tmp_path / "out")
    flip_a_byte(root / ARTIFACT)
    with pytest.raises(HandoverRefused, match=f"integrity: {ARTIFACT} does not match its SHA-256"):
        bundle.verify(root)


def test_a_file_added_or_removed_after_sealing_is_refused(tmp_path):
    root = unpacked(sealed(tmp_path), tmp_path / "out")
    (root / "model" / "extra.py").write_text("import os\n")
    with pytest.raises(HandoverRefused, match=r"model/extra\.py is in the bundle but not in the manifest"):
        bundle.verify(root)
    (root / "model" / "extra.py").unlink()
    (root / "model_card.md").unlink()
    with pytest.raises(HandoverRefused, match=r"model_card\.md is in the manifest but not in the bundle"):
        bundle.verify(root)


def test_a_damaged_archive_is_refused_not_crashed(tmp_path):
    path = sealed(tmp_path)
    flip_a_byte(path)
    with pytest.raises(HandoverRefused, match=r"not a readable bundle|integrity"):
        bundle.open_bundle(path, tmp_path / "out")


def test_a_bundle_that_would_fill_the_disk_is_refused_before_anything_is_unpacked(tmp_path, monkeypatch):
    path = sealed(tmp_path)
    with tarfile.open(path, "r:gz") as tar:
        declared = sum(m.size for m in tar.getmembers() if m.isfile())
    # The disk as it would look with one byte too few to keep MIN_FREE_BYTES after unpacking.
    usage = shutil.disk_usage(tmp_path)._replace(free=bundle.MIN_FREE_BYTES + declared - 1)
    monkeypatch.setattr(bundle.shutil, "disk_usage", lambda _: usage)
    with pytest.raises(HandoverRefused, match=r"unpacks to 0\.0 GiB; .* must keep 1 GiB: nothing was unpacked"):
        bundle.open_bundle(path, tmp_path / "out")
    assert not any((tmp_path / "out").iterdir())
    monkeypatch.setattr(bundle.shutil, "disk_usage", lambda _: usage._replace(free=usage.free + 1))
    assert bundle.open_bundle(path, tmp_path / "again").kind == bundle.MODEL_KIND


@pytest.mark.parametrize("data_filter", [True, False], ids=["tarfile-filter", "python-before-3.11.4"])
def test_an_archive_cannot_write_outside_where_it_is_unpacked(tmp_path, monkeypatch, data_filter):
    if not data_filter:  # the Airflow image's Python (Debian bookworm's 3.11.2) has no extraction filters
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(HandoverRefused, match="not a readable bundle"):
        bundle.open_bundle(path, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


# On the embedded stack, after the demo pipeline registered and served a champion.


@pytest.fixture(scope="module")
def exported(stack, stack_env, e2e_run, tmp_path_factory) -> Path:
    """The champion, exported as a partner lab would send it."""
    path = tmp_path_factory.mktemp("handover") / "partner.tar.gz"
    result = run_kaizen(stack_env, "handover", "export", "-o", str(path), "--producer", "lab@university")
    assert result.returncode == 0, result.stderr
    assert f"exported to {path}" in result.stdout
    return path


def versions(stack) -> list[str]:
    found = MlflowClient(stack.mlflow_tracking_uri).search_model_versions(f"name='{stack.model_name}'")
    return sorted((v.version for v in found), key=int)


@pytest.mark.stack
def test_a_model_bundle_holds_what_a_partner_needs(exported, tmp_path):
    opened = bundle.open_bundle(exported, tmp_path)
    meta = opened.metadata
    assert meta["model"]["kind"] and (opened.root / ARTIFACT).exists() and (opened.root / "model" / "MLmodel").exists()
    assert meta["feature_service"] == "recommender_v1" and meta["signature"]["inputs"]
    assert {"recommender_v1", "serving_v1"} <= meta["feature_services"].keys()
    assert "item_id" in meta["training_data"]["schema"] and meta["training_data"]["digest"]
    assert 0 < meta["metrics"]["mrr_20"] <= meta["metrics"]["hr_20"] <= 1
    assert "session" in meta["protocol"]["text"] and meta["protocol"]["test_days"]
    assert (opened.root / "environment" / "orchestration.lock").exists()
    assert (opened.root / meta["model_card"]).read_text().startswith("# Model card")
    assert meta["provenance"]["producer"] == "lab@university" and meta["provenance"]["run_id"]
    assert "@" not in meta["provenance"]["tracking_uri"].split("//", 1)[1]  # no credentials
    assert oct(exported.stat().st_mode & 0o777) == "0o600"  # a bundle may hold the shop's data


@pytest.mark.stack
def test_an_import_is_registered_with_its_origin_in_another_experiment_and_gated_on_local_data(
    stack, stack_env, exported, tmp_path
):
    champion = champion_version(stack.mlflow_tracking_uri, stack.model_name)
    result = run_kaizen(stack_env, "handover", "import", str(exported))
    assert result.returncode == 0, result.stderr
    version = versions(stack)[-1]
    # The champion handed over to itself wins nothing on the same local test window.
    assert f"v{version} kept as @challenger: MRR@20" in result.stdout and f"champion v{champion}" in result.stdout

    client = MlflowClient(stack.mlflow_tracking_uri)
    imported = client.get_model_version(stack.model_name, version)
    assert imported.tags[tags.DECISION] == "refused" and imported.tags["kaizen.gate.compared_with"] == champion
    assert imported.tags[f"{TAG}producer"] == "lab@university"
    manifest = bundle.open_bundle(exported, tmp_path).digest
    assert imported.tags[MANIFEST_TAG] == manifest
    assert f"v{champion}" in imported.tags[f"{TAG}source"]

    intake = client.get_run(imported.run_id)
    source = client.get_run(client.get_model_version(stack.model_name, champion).run_id)
    assert client.get_experiment(intake.info.experiment_id).name == HANDOVER_EXPERIMENT
    assert client.get_experiment(source.info.experiment_id).name == stack.experiment != HANDOVER_EXPERIMENT
    # The partner's data window travels on: monitoring's drift reference.
    assert intake.data.tags["kaizen.window.test_start"] == source.data.tags["kaizen.window.test_start"]
    assert intake.data.metrics["partner_mrr_20"] == source.data.metrics["mrr_20"]  # theirs, kept
    assert 0 < intake.data.metrics["mrr_20"] <= 1  # ours, on the local test window
    assert {a.path for a in client.list_artifacts(intake.info.run_id, "handover")} >= {
        "handover/bundle.json",
        "handover/manifest.json",
    }
    assert str(client.get_model_version_by_alias(stack.model_name, CHALLENGER_ALIAS).version) == version
    assert str(client.get_model_version_by_alias(stack.model_name, CHAMPION_ALIAS).version) == champion

    again = run_kaizen(stack_env, "handover", "import", str(exported))
    assert again.returncode == 0 and f"nothing to do: v{version} was imported from this bundle" in again.stdout
    assert versions(stack)[-1] == version


@pytest.mark.stack
def test_a_partner_model_that_beats_the_champion_is_promoted_by_the_gate(stack, stack_env, e2e_run, tmp_path):
    strong = champion_version(stack.mlflow_tracking_uri, stack.model_name)
    path = tmp_path / "strong.tar.gz"
    assert run_kaizen(stack_env, "handover", "export", "--version", strong, "-o", str(path)).returncode == 0
    weak = train_recommender(
        stack, TrainOptions(model="popularity", force_promote=True, force_reason="a weak champion")
    )
    try:
        result = run_kaizen(stack_env, "handover", "import", str(path))
        assert result.returncode == 0, result.stderr
        imported = versions(stack)[-1]
        assert f"v{imported} promoted over v{weak['version']}" in result.stdout
        assert champion_version(stack.mlflow_tracking_uri, stack.model_name) == imported
    finally:
        deploy(stack, strong)  # leave the stack on the e2e champion for the other tests
    ModelServerClient(stack.model_server_url).wait_for_version(strong)


@pytest.mark.stack
def test_the_handover_dags_export_and_import_without_a_shell(stack, e2e_run):
    client = airflow_client(stack)
    exported = run_dag(stack, "handover_export", {"producer": "agency"})
    note = client.request("GET", f"/dags/handover_export/dagRuns/{exported}")["note"]
    path = Path(note.split(" exported to ", 1)[1].split(";", 1)[0])
    assert path.parent == stack.handover_dir / "outgoing" and path.exists()

    imported = run_dag(stack, "handover_import", {"bundle_path": str(path)})
    assert client.task_states("handover_import", imported) == {"verify_and_register": "success", "gate": "skipped"}
    assert "kept as @challenger" in client.request("GET", f"/dags/handover_import/dagRuns/{imported}")["note"]


def resealed(exported: Path, tmp_path: Path, change) -> Path:
    """The bundle with ``change(metadata)`` applied and a new, consistent manifest: passes the
    integrity check, so that the compatibility check is what refuses it."""
    root = unpacked(exported, tmp_path / "edit")
    metadata = json.loads((root / bundle.METADATA).read_text())
    change(metadata)
    kind = metadata.pop("kind")
    metadata.pop("format")
    return bundle.seal(root, kind, metadata, tmp_path / "edited.tar.gz")


def changed_byte(exported: Path, tmp_path: Path) -> Path:
    root = unpacked(exported, tmp_path / "edit")
    flip_a_byte(root / ARTIFACT, at=-1)
    path = tmp_path / "changed.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member in sorted(root.rglob("*")):
            tar.add(member, arcname=member.relative_to(root).as_posix(), recursive=False)
    return path


MISSING_FEATURE = "item_activity:views_365d"
TAMPERED = {
    "one changed byte": (changed_byte, f"integrity: {ARTIFACT} does not match its SHA-256"),
    "a missing feature": (
        lambda e, t: resealed(
            e, t, lambda m: m["feature_services"]["recommender_v1"].append("item_activity:views_365d")
        ),
        f"the model needs feature {MISSING_FEATURE} of service 'recommender_v1', which Kaizen's feature store lacks",
    ),
    "an unknown model kind": (
        lambda e, t: resealed(e, t, lambda m: m["model"].update(kind="gru4rec")),
        "model kind 'gru4rec' is not one the model server can load",
    ),
    "another schema": (
        lambda e, t: resealed(e, t, lambda m: m["training_data"]["schema"].update(item_id="int64")),
        "training data schema differs: column 'item_id' is int64 in the bundle",
    ),
    "another signature": (
        lambda e, t: resealed(e, t, lambda m: m["signature"].update(inputs="[]")),
        "the model's signature",
    ),
    "training days inside the test window": (
        lambda e, t: resealed(e, t, lambda m: m["training_data"]["window"].update(test_start="2030-01-01T00:00:00")),
        "the model was trained on data up to 2030-01-01 00:00:00+00:00, inside Kaizen's test window",
    ),
}
ON_IMPORT_ONLY = {"training days inside the test window"}  # needs the test window the gate would use


@pytest.mark.stack
@pytest.mark.parametrize("tamper", list(TAMPERED))
def test_a_bundle_that_does_not_fit_is_refused_with_the_reason_and_nothing_is_registered(
    stack, stack_env, exported, tmp_path, tamper
):
    make, reason = TAMPERED[tamper]
    bad = make(exported, tmp_path)
    before = versions(stack)
    checked = run_kaizen(stack_env, "handover", "verify", str(bad))
    result = run_kaizen(stack_env, "handover", "import", str(bad))
    for refused in (result,) if tamper in ON_IMPORT_ONLY else (checked, result):
        assert refused.returncode == 1 and f"refused: {reason}" in refused.stderr, refused.stderr
    assert versions(stack) == before


@pytest.mark.stack
def test_a_data_snapshot_holds_the_newest_days_and_the_feature_definitions(stack, stack_env, e2e_run, tmp_path):
    path = tmp_path / "snapshot.tar.gz"
    result = run_kaizen(stack_env, "handover", "snapshot", "--days", "2", "-o", str(path))
    assert result.returncode == 0, result.stderr
    opened = bundle.open_bundle(path, tmp_path / "out")
    assert opened.kind == bundle.SNAPSHOT_KIND and opened.metadata["window"]["days"] == 2
    assert len(list((opened.root / "lake" / "events").glob("date=*/*.parquet"))) >= 2
    assert "views_7d" in opened.metadata["feature_views"]["item_activity"]
    refused = run_kaizen(stack_env, "handover", "verify", str(path))
    assert refused.returncode == 1 and "holds no model to import" in refused.stderr
