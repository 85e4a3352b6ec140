"""The model server's in-memory item attributes: bulk loads, one loader per server, the last
snapshot kept through outages (unit test with a fake feature server)."""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from kaizen.serving import item_attributes
from kaizen.serving.item_attributes import FRESH, MISSING, STALE, FeatureSourceError, Item, ItemAttributes, fetch


class FakeFeatureServer(BaseHTTPRequestHandler):
    """Answers like feast serve's /get-online-features for serving_v1: item "b" is unavailable,
    "new" unknown, every other item in category "c-" + its id."""

    calls: ClassVar[list[list[str]]] = []
    delay_s = 0.0
    body: bytes | None = None  # when set, the answer instead of a well-formed one

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert body["feature_service"] == "serving_v1"
        items = body["entities"]["item_id"]
        FakeFeatureServer.calls.append(items)
        time.sleep(FakeFeatureServer.delay_s)
        answer = {
            "metadata": {"feature_names": ["item_id", "category_id", "available"]},
            "results": [
                {"values": items},
                {"values": [None if i == "new" else f"c-{i}" for i in items]},
                {"values": [None if i == "new" else i != "b" for i in items]},
            ],
        }
        data = FakeFeatureServer.body if FakeFeatureServer.body is not None else json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), FakeFeatureServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    FakeFeatureServer.calls, FakeFeatureServer.delay_s, FakeFeatureServer.body = [], 0.0, None
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def attributes(url: str, share_dir, max_age_s: float = 60.0) -> ItemAttributes:
    return ItemAttributes(url, refresh_s=0.1, max_age_s=max_age_s, share_dir=share_dir)


def test_every_item_is_loaded_in_chunks_unknown_items_kept(server, monkeypatch):
    monkeypatch.setattr(item_attributes, "FETCH_CHUNK", 2)
    assert fetch(server, ["a", "b", "new"]) == {
        "a": Item(True, "c-a"),
        "b": Item(False, "c-b"),
        "new": Item(True, None),
    }
    assert FakeFeatureServer.calls == [["a", "b"], ["new"]]


def test_an_absent_server_is_a_feature_source_error():
    with pytest.raises(FeatureSourceError, match=r"127\.0\.0\.1:9"):
        fetch("http://127.0.0.1:9", ["a"])


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"metadata": {"feature_names": ["item_id", "category_id", "available"]}, "results": [null, null, null]}',
        b'{"metadata": {"feature_names": ["item_id", "category_id", "available"]},'
        b' "results": [{"values": ["a"]}, {"values": ["c"]}, {"values": [true]}]}',  # one value for two items
        b"not json",
    ],
    ids=["a-list", "null-results", "too-few-values", "not-json"],
)
def test_a_malformed_answer_is_a_feature_source_error(server, body):
    FakeFeatureServer.body = body
    with pytest.raises(FeatureSourceError):
        fetch(server, ["a", "b"])


def test_a_snapshot_is_fresh_until_its_bound_then_stale_but_kept(server, tmp_path, monkeypatch):
    items = attributes(server, tmp_path, max_age_s=10)
    assert items.status(items.snapshot) == MISSING and "never loaded" in items.problem()
    items.refresh(lambda: ["a", "b"])
    snapshot = items.snapshot
    assert snapshot.items["b"] == Item(False, "c-b")
    assert items.status(snapshot) == FRESH and items.problem() == ""

    FakeFeatureServer.body = b"not json"  # the feature source fails: the snapshot stays
    items.refresh(lambda: ["a", "b"])
    assert items.snapshot is snapshot and "get-online-features" in items.last_error
    monkeypatch.setattr(time, "monotonic", lambda: snapshot.loaded_at + 11)
    assert items.status(snapshot) == STALE
    problem = items.problem()
    assert problem.startswith("item attributes 11 s old (bound 10 s") and "get-online-features" in problem


def test_one_process_loads_the_others_read_its_snapshot(server, tmp_path):
    loader, sibling = attributes(server, tmp_path), attributes(server, tmp_path)
    loader.refresh(lambda: ["a", "b"])
    sibling.refresh(lambda: ["a", "b"])
    assert FakeFeatureServer.calls == [["a", "b"]]  # the sibling did not ask the feature server
    assert sibling.snapshot == loader.snapshot

    FakeFeatureServer.body = b"not json"
    loader.refresh(lambda: ["a", "b"])
    sibling.max_age_s = loader.max_age_s = -1  # make the kept snapshot stale
    assert "get-online-features" in sibling.problem()  # the loader's error, read from the shared directory


def test_when_the_loader_dies_a_sibling_takes_over(server, tmp_path):
    loader, sibling = attributes(server, tmp_path), attributes(server, tmp_path)
    loader.refresh(lambda: ["a"])
    os.close(loader._lock_fd)  # what a process's exit does to its lock
    sibling.refresh(lambda: ["a", "b"])
    assert FakeFeatureServer.calls == [["a"], ["a", "b"]]
    assert set(sibling.snapshot.items) == {"a", "b"}


def test_without_a_model_nothing_is_loaded(server, tmp_path):
    items = attributes(server, tmp_path)
    items.refresh(lambda: None)
    assert items.snapshot is None and FakeFeatureServer.calls == []


def test_an_unchanged_refresh_shares_only_the_load_time(server, tmp_path):
    loader, sibling = attributes(server, tmp_path), attributes(server, tmp_path)
    loader.refresh(lambda: ["a", "b"])
    sibling.refresh(lambda: ["a", "b"])
    first, written = sibling.snapshot, (tmp_path / item_attributes.ITEMS_FILE).stat().st_mtime_ns
    time.sleep(0.01)
    loader.refresh(lambda: ["a", "b"])
    sibling.refresh(lambda: ["a", "b"])
    assert (tmp_path / item_attributes.ITEMS_FILE).stat().st_mtime_ns == written  # not parsed again
    assert sibling.snapshot.items is first.items and sibling.snapshot.loaded_at > first.loaded_at


def test_start_waits_briefly_for_a_first_snapshot_and_never_fails_a_boot(server, tmp_path):
    """A worker boots within gunicorn's timeout with the feature server down, and loads once it is up."""
    absent = attributes("http://127.0.0.1:9", tmp_path / "absent")
    (tmp_path / "absent").mkdir()
    started = time.monotonic()
    absent.start(lambda: ["a"])
    assert time.monotonic() - started < item_attributes.BOOT_WAIT_S + 1 and absent.snapshot is None
    absent.url = server  # the feature server comes up
    deadline = time.monotonic() + 5
    while absent.snapshot is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert absent.snapshot.items == {"a": Item(True, "c-a")}

    present = attributes(server, tmp_path)
    present.start(lambda: ["b"])
    assert present.snapshot.items == {"b": Item(False, "c-b")}  # loaded before start returned
