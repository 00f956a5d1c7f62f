"""A loopback stand-in for a podinfo-like demo app, used as the emulator's service backend."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

METRICS = (
    "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n"
    "http_requests_total 7\n"
)


@contextmanager
def demo_app(ready: bool = True) -> Iterator[str]:
    """Serves /readyz (200 or 503), /healthz, /metrics and /; yields its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/readyz":
                code, body = (200, b"ok") if ready else (503, b"not ready")
            elif path == "/metrics":
                code, body = 200, METRICS.encode()
            else:
                code, body = 200, b'{"hostname": "demo", "message": "greetings"}'
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def fake_prometheus(value: float) -> Iterator[str]:
    """A loopback Prometheus query API answering every instant query with one sample."""
    import json

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"job": "web"}, "value": [0, str(value)]}]}}).encode()
            self.send_response(200 if self.path.startswith("/api/v1/query") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
