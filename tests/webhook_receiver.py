"""A local HTTP receiver standing in for Slack's incoming webhook: it records every JSON body."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, status: int = 200):
        self.bodies: list[dict] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/kaizen"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kinds(self) -> list[str]:
        return [body["kaizen"]["kind"] for body in self.bodies]

    def wait_for(self, kind: str, where=lambda details: True, timeout_s: float = 30) -> dict:
        """The first alert of ``kind`` whose details satisfy ``where``: its ``kaizen`` part."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for body in list(self.bodies):
                if body["kaizen"]["kind"] == kind and where(body["kaizen"]["details"]):
                    return body["kaizen"]
            time.sleep(0.2)
        raise AssertionError(f"no {kind} alert within {timeout_s} s; received {self.kinds()}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
