"""Fixtures shared by the emulator and fault-proxy tests: Python clients and loopback backends."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes import client

from tests.support.emulator import LabEmulator


@pytest.fixture
def api(emulator: LabEmulator) -> Iterator[client.ApiClient]:
    api_client = emulator.api_client()
    yield api_client
    api_client.close()


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@dataclass
class Backend:
    """A loopback HTTP server that answers every request with `METHOD /path?query` as text."""

    url: str
    seen: list[str] = field(default_factory=list)


@pytest.fixture
def backend() -> Iterator[Backend]:
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append(f"{self.command} {self.path}")
            payload = f"{self.command} {self.path} {body.decode()}".strip().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield Backend(f"http://127.0.0.1:{server.server_port}", seen)
    server.shutdown()
    server.server_close()


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    base_url: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> RawResponse:
    """A plain HTTP request (no Kubernetes client) to check wire-level details."""
    request = urllib.request.Request(base_url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return RawResponse(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return RawResponse(error.code, dict(error.headers), error.read())
