"""The health probes' verdicts, against fake servers answering as seldon-core and feast serve do
(unit tests of the logic; the stack tests run the probes against the real servers)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from kaizen.features import health as feature_server
from kaizen.probes import run
from kaizen.serving import health as model_server


def serve(status: int, body: dict | str):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._answer()

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self._answer()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}"


@pytest.fixture
def fake():
    servers = []

    def start(status: int, body: dict | str) -> str:
        httpd, url = serve(status, body)
        servers.append(httpd)
        return url

    yield start
    for httpd in servers:
        httpd.shutdown()


def seldon_error(reason: str, info: str) -> dict:
    return {"status": {"status": 1, "info": info, "code": -1, "reason": reason}}


def test_model_server_serving_waiting_for_a_champion_or_stale(fake):
    serving = fake(200, {"jsonData": {}, "meta": {"tags": {"model_name": "m", "model_version": "3"}}})
    assert model_server.check(serving) == "serving m v3"
    waiting = fake(503, seldon_error("MODEL_NOT_READY", "no m@champion registered yet"))
    assert model_server.check(waiting) == "alive, not ready: no m@champion registered yet"
    stale = fake(503, seldon_error("FEATURES_NOT_READY", "item attributes 40 s old"))
    with pytest.raises(RuntimeError, match="FEATURES_NOT_READY: item attributes 40 s old"):
        model_server.check(stale)
    broken = fake(500, "<html>Internal Server Error</html>")
    with pytest.raises(RuntimeError, match="HTTP 500"):
        model_server.check(broken)
    with pytest.raises(RuntimeError, match="no answer"):
        model_server.check("http://127.0.0.1:9")


def test_feature_server_reads_its_store_or_is_unhealthy(fake):
    assert feature_server.check(fake(200, {"metadata": {}, "results": []})) == "ok"
    not_applied = fake(404, {"class": "FeatureServiceNotFoundException", "message": "serving_v1 does not exist"})
    assert feature_server.check(not_applied) == "ok, serving_v1 not applied yet"
    lost = fake(500, {"detail": "the connection is lost"})
    with pytest.raises(RuntimeError, match=r"answered 500: .*the connection is lost"):
        feature_server.check(lost)
    with pytest.raises(RuntimeError, match="online read failed"):
        feature_server.check("http://127.0.0.1:9")


def test_a_probe_exits_0_with_the_status_or_1_with_the_reason(fake, capsys):
    assert run(model_server.check, "http://unused", "model server", [fake(200, {"meta": {"tags": {}}})]) == 0
    assert capsys.readouterr().out == "serving ? v?\n"
    assert run(model_server.check, "http://127.0.0.1:9", "model server", []) == 1
    assert capsys.readouterr().err.startswith("model server unhealthy: no answer")
