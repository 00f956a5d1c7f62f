"""A loopback stand-in for OpenBao's HTTP API: init, seal status, unseal (the parts lab uses).

Served as the emulator's backend for the hub's `openbao` Service, so `lab hub bootstrap` talks to
it through the API server's service proxy exactly as it would to the real one.
"""

from __future__ import annotations

import http.server
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class BaoState:
    initialized: bool = False
    sealed: bool = True
    keys: list[str] = field(default_factory=list)
    threshold: int = 0
    root_token: str = ""
    progress: int = 0
    init_calls: int = 0
    unseal_calls: int = 0

    def restart(self) -> None:
        """The pod restarted: sealed again (and, with an emptyDir, its data is gone)."""
        self.sealed, self.progress = True, 0


@contextmanager
def fake_openbao() -> Iterator[tuple[str, BaoState]]:
    state = BaoState()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, code: int, data: object) -> None:
            body = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> dict[str, object]:
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"{}")
            return data if isinstance(data, dict) else {}

        def do_GET(self) -> None:
            if self.path.startswith("/v1/sys/init"):
                self._send(200, {"initialized": state.initialized})
            elif self.path.startswith("/v1/sys/seal-status"):
                self._send(200, {"type": "shamir", "initialized": state.initialized,
                                 "sealed": state.sealed, "t": state.threshold,
                                 "n": len(state.keys), "progress": state.progress,
                                 "version": "2.4.4"})
            else:
                self._send(404, {"errors": []})

        def do_PUT(self) -> None:
            body = self._body()
            if self.path.startswith("/v1/sys/init"):
                state.init_calls += 1
                if state.initialized:
                    self._send(400, {"errors": ["OpenBao is already initialized"]})
                    return
                shares, threshold = int(str(body["secret_shares"])), int(str(body["secret_threshold"]))
                state.keys = [secrets.token_hex(16) for _ in range(shares)]
                state.threshold, state.root_token = threshold, "s." + secrets.token_hex(12)
                state.initialized = True
                self._send(200, {"keys": state.keys, "keys_base64": state.keys,
                                 "root_token": state.root_token})
            elif self.path.startswith("/v1/sys/unseal"):
                state.unseal_calls += 1
                if body.get("key") not in state.keys:
                    self._send(400, {"errors": ["invalid key"]})
                    return
                state.progress += 1
                if state.progress >= state.threshold:
                    state.sealed, state.progress = False, 0
                self._send(200, {"sealed": state.sealed, "t": state.threshold,
                                 "progress": state.progress})
            else:
                self._send(404, {"errors": []})

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
