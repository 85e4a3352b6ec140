"""The bundle: a directory of files, a ``bundle.json`` that says what they are, and a SHA-256
manifest of every file, packed as one ``.tar.gz``.

Before unpacking, the files must fit on the disk. Integrity is checked before anything in a
bundle is read: every file the manifest lists is there with its digest and size, and nothing
else is. The manifest proves the bundle arrived as it was written (a transfer, a storage
bucket); it is not a signature, so where a partner must be authenticated, send the manifest's
digest (``Bundle.digest``) over another channel.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from kaizen.errors import HandoverRefused

FORMAT = "kaizen-handover/1"
MANIFEST = "manifest.json"
METADATA = "bundle.json"
MODEL_KIND, SNAPSHOT_KIND = "model", "data-snapshot"
SNAPSHOT_PREFIX = "snapshot-"  # a data snapshot's file name starts so: never taken for a model
# Free space an unpacked bundle must leave on its disk: a bundle (or a tar bomb) never fills it.
MIN_FREE_BYTES = 1 << 30
# What bundle.json must say, by kind (nested: the keys inside); a bundle without it is refused.
REQUIRED = {
    MODEL_KIND: {
        "model": ("name", "version", "kind", "params"),
        "signature": (),
        "feature_service": (),
        "feature_services": (),
        "training_data": ("schema", "digest", "window"),
        "metrics": (),
        "protocol": (),
        "provenance": ("producer", "exported_at", "tracking_uri", "run_id"),
    },
    SNAPSHOT_KIND: {"window": (), "schema": (), "feature_services": (), "feature_views": (), "provenance": ()},
}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


def seal(root: Path, kind: str, metadata: dict, out: Path) -> Path:
    """Write ``metadata`` as bundle.json, the manifest of every file under ``root``, and pack
    it all as ``out`` (a .tar.gz)."""
    (root / METADATA).write_text(json.dumps({"format": FORMAT, "kind": kind, **metadata}, indent=2, default=str))
    files = {name: {"sha256": sha256(root / name), "bytes": (root / name).stat().st_size} for name in _files(root)}
    (root / MANIFEST).write_text(json.dumps({"format": FORMAT, "files": files}, indent=2, sort_keys=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")  # a reader never sees half a bundle
    partial.touch(mode=0o600)  # a snapshot holds the shop's events: readable by its owner only
    with tarfile.open(partial, "w:gz") as tar:
        for name in [MANIFEST, *files]:
            tar.add(root / name, arcname=name)
    partial.replace(out)
    return out


@dataclass(frozen=True)
class Bundle:
    """An unpacked bundle whose integrity was verified."""

    root: Path
    metadata: dict
    digest: str  # SHA-256 of its manifest: names the bundle as a whole

    @property
    def kind(self) -> str:
        return self.metadata["kind"]

    def path(self, name: str) -> Path:
        return self.root / name


def unpack(source: Path, into: Path) -> Path:
    """Unpack a .tar.gz bundle under ``into``; a directory is used as it is."""
    if source.is_dir():
        return source
    into.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(source, "r:gz") as tar:
            members = tar.getmembers()
            _fits(source, sum(m.size for m in members if m.isfile()), into)
            _extract(tar, members, into)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise HandoverRefused(f"{source} is not a readable bundle (a .tar.gz): {exc}") from exc
    return into


def _fits(source: Path, size: int, into: Path) -> None:
    """Refuse a bundle whose files, by the sizes its tar headers declare (what extraction
    writes), would leave less than ``MIN_FREE_BYTES`` free under ``into``."""
    free = shutil.disk_usage(into).free
    if size > free - MIN_FREE_BYTES:
        raise HandoverRefused(
            f"{source} unpacks to {size / 2**30:.1f} GiB; {into} has {free / 2**30:.1f} GiB free and "
            f"must keep {MIN_FREE_BYTES / 2**30:.0f} GiB: nothing was unpacked"
        )


def _extract(tar: tarfile.TarFile, members: list[tarfile.TarInfo], into: Path) -> None:
    """Extract plain files and directories that land inside ``into``, nothing else. tarfile's
    ``data`` filter says the same where the interpreter has it (Python 3.11.4+; Debian
    bookworm's 3.11.2, in the Airflow image, has not)."""
    root = into.resolve()
    for member in members:
        if not (member.isfile() or member.isdir()) or not (root / member.name).resolve().is_relative_to(root):
            raise tarfile.TarError(f"{member.name!r} is not a plain file inside the bundle")
    if hasattr(tarfile, "data_filter"):
        tar.extractall(into, filter="data")
    else:
        tar.extractall(into)  # every member checked above


def verify(root: Path, expected_sha256: str | None = None) -> Bundle:
    """The bundle at ``root``, once its manifest is the one the partner announced
    (``expected_sha256``, when given), every file matches the manifest and bundle.json says
    what its kind needs; HandoverRefused naming the first thing that does not."""
    manifest_path = root / MANIFEST
    if not manifest_path.exists():
        raise HandoverRefused(f"no {MANIFEST}: not a Kaizen handover bundle")
    digest = sha256(manifest_path)
    if expected_sha256 and digest != expected_sha256.strip().lower():
        raise HandoverRefused(f"integrity: the manifest's SHA-256 is {digest}, not the {expected_sha256} announced")
    try:
        manifest = json.loads(manifest_path.read_text())
        files = {name: (entry["sha256"], int(entry["bytes"])) for name, entry in manifest["files"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HandoverRefused(f"integrity: {MANIFEST} is not valid: {exc!r}") from exc
    if manifest.get("format") != FORMAT:
        raise HandoverRefused(f"bundle format {manifest.get('format')!r}; this Kaizen reads {FORMAT}")
    present = set(_files(root))
    if missing := sorted(files.keys() - present):
        raise HandoverRefused(f"integrity: {missing[0]} is in the manifest but not in the bundle")
    if extra := sorted(present - files.keys()):
        raise HandoverRefused(f"integrity: {extra[0]} is in the bundle but not in the manifest")
    for name, (checksum, size) in sorted(files.items()):
        path = root / name
        if path.stat().st_size != size or sha256(path) != checksum:
            raise HandoverRefused(
                f"integrity: {name} does not match its SHA-256 in the manifest (changed after export)"
            )
    return Bundle(root, _metadata(root), digest)


def _metadata(root: Path) -> dict:
    """bundle.json, checked for what its kind must say."""
    try:
        metadata = json.loads((root / METADATA).read_text())
    except (OSError, ValueError) as exc:
        raise HandoverRefused(f"{METADATA} is missing or not JSON: {exc}") from exc
    required = REQUIRED.get(metadata.get("kind")) if isinstance(metadata, dict) else None
    if required is None:
        kinds = ", ".join(REQUIRED)
        raise HandoverRefused(f"{METADATA} names no known kind of bundle ({kinds})")
    for key, inner in required.items():
        if key not in metadata or (inner and not isinstance(metadata[key], dict)):
            raise HandoverRefused(f"{METADATA} lacks {key!r}")
        if missing := [k for k in inner if k not in metadata[key]]:
            raise HandoverRefused(f"{METADATA} lacks {key}.{missing[0]}")
    return metadata


def open_bundle(source: Path, workdir: Path, expected_sha256: str | None = None) -> Bundle:
    """Unpack ``source`` (a .tar.gz; a directory is read in place) into ``workdir`` and verify it."""
    if not source.exists():
        raise HandoverRefused(f"no bundle at {source}")
    return verify(unpack(source, workdir), expected_sha256)
