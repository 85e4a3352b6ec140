"""A StatsD sink with a Prometheus endpoint, standing in for prom/statsd-exporter in the compose
test: it listens where the exporter's flags say and counts samples per metric name."""

import argparse
import collections
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

samples: collections.Counter = collections.Counter()


class StatsdHandler(socketserver.BaseRequestHandler):
    def handle(self):
        for line in self.request[0].decode(errors="replace").splitlines():
            samples[line.split(":", 1)[0]] += 1


class MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = "# TYPE statsd_standin_samples_total counter\n" + "".join(
            f'statsd_standin_samples_total{{metric="{name}"}} {count}\n' for name, count in list(samples.items())
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "0.0.0.0", int(port)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--statsd.listen-udp", dest="udp", default=":9125")
    parser.add_argument("--web.listen-address", dest="web", default=":9102")
    args, _ = parser.parse_known_args()  # --statsd.mapping-config and the rest are ignored
    udp = socketserver.ThreadingUDPServer(address(args.udp), StatsdHandler)
    threading.Thread(target=udp.serve_forever, daemon=True).start()
    ThreadingHTTPServer(address(args.web), MetricsHandler).serve_forever()


if __name__ == "__main__":
    main()
