"""The model server's online-feature client: caching, timeouts, fallback (unit test with a fake server)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from kaizen.serving.online_features import Item, OnlineFeatures


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


def test_availability_and_category_per_item_unknown_items_kept(server):
    features = OnlineFeatures(server, timeout_ms=500, cache_s=60)
    assert features.items(["a", "b", "new"]) == {
        "a": Item(True, "c-a"),
        "b": Item(False, "c-b"),
        "new": Item(True, None),
    }


def test_cached_items_are_not_asked_again(server):
    features = OnlineFeatures(server, timeout_ms=500, cache_s=60)
    features.items(["a", "b"])
    assert features.items(["a", "b", "c"])["c"] == Item(True, "c-c")
    assert FakeFeatureServer.calls == [["a", "b"], ["c"]]


def test_slow_or_absent_server_means_fallback(server):
    FakeFeatureServer.delay_s = 0.2
    assert OnlineFeatures(server, timeout_ms=20, cache_s=60).items(["a"]) is None
    assert OnlineFeatures("http://127.0.0.1:9", timeout_ms=20, cache_s=60).items(["a"]) is None


def test_after_a_failure_requests_skip_the_server_for_a_while(server, monkeypatch):
    FakeFeatureServer.delay_s = 0.2
    features = OnlineFeatures(server, timeout_ms=20, cache_s=60)
    assert features.items(["a"]) is None
    FakeFeatureServer.delay_s = 0.0
    assert features.items(["a"]) is None and len(FakeFeatureServer.calls) == 1  # not asked again yet
    time.sleep(0.3)  # the fake server answers one request at a time: let it finish the slow one
    monkeypatch.setattr(time, "monotonic", lambda: features.retry_at + 0.1)
    assert features.items(["a", "b"])["b"] == Item(False, "c-b")  # asked again once the pause is over


def test_a_large_miss_is_asked_for_in_chunks(server):
    items = [f"i{n}" for n in range(120)]
    assert len(OnlineFeatures(server, timeout_ms=2000, cache_s=60).items(items)) == 120
    assert [len(call) for call in FakeFeatureServer.calls] == [50, 50, 20]


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
def test_a_malformed_answer_means_fallback_not_an_error(server, body):
    FakeFeatureServer.body = body
    assert OnlineFeatures(server, timeout_ms=500, cache_s=60).items(["a", "b"]) is None
