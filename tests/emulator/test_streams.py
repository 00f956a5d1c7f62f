"""Service and pod proxies, pod logs and port-forward, served from loopback test servers."""

from __future__ import annotations

import threading
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import portforward

from tests.emulator.conftest import Backend
from tests.support.emulator import LabEmulator

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(15)]

POD = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "x"},
                                                         {"name": "sidecar", "image": "y"}]}}


def test_service_proxy_forwards_to_the_registered_backend(
    core: client.CoreV1Api, emulator: LabEmulator, backend: Backend
) -> None:
    core.create_namespaced_service("default", {"metadata": {"name": "web"},
                                               "spec": {"ports": [{"name": "http", "port": 80}]}})
    emulator.register_backend("default", "web", 80, backend.url)
    assert core.connect_get_namespaced_service_proxy_with_path("web:http", "default", "status") == "GET /status"
    assert core.connect_get_namespaced_service_proxy_with_path("web:80", "default", "a/b") == "GET /a/b"
    assert core.connect_get_namespaced_service_proxy("web", "default") == "GET /"
    assert core.connect_post_namespaced_service_proxy_with_path("web", "default", "submit") == "POST /submit"
    assert backend.seen == ["GET /status", "GET /a/b", "GET /", "POST /submit"]


def test_service_proxy_errors(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    with pytest.raises(ApiException) as missing:
        core.connect_get_namespaced_service_proxy("nope", "default")
    assert missing.value.status == 404
    core.create_namespaced_service("default", {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})
    with pytest.raises(ApiException) as no_endpoints:
        core.connect_get_namespaced_service_proxy("web", "default")
    assert no_endpoints.value.status == 503


def test_pod_proxy_keeps_the_query(core: client.CoreV1Api, emulator: LabEmulator, backend: Backend) -> None:
    core.create_namespaced_pod("default", POD)
    emulator.register_backend("default", "p", 9090, backend.url)
    with urllib.request.urlopen(f"{emulator.url}/api/v1/namespaces/default/pods/p:9090/proxy/metrics?x=1",
                                timeout=2) as response:
        assert response.read() == b"GET /metrics?x=1"


def test_pod_logs(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    core.create_namespaced_pod("default", POD)
    emulator.set_logs("default", "p", "one\ntwo\nthree\n", container="app")
    emulator.set_logs("default", "p", "side\n", container="sidecar")
    assert core.read_namespaced_pod_log("p", "default", container="app") == "one\ntwo\nthree\n"
    assert core.read_namespaced_pod_log("p", "default", container="app", tail_lines=2) == "two\nthree\n"
    assert core.read_namespaced_pod_log("p", "default", container="sidecar") == "side\n"
    with pytest.raises(ApiException) as which:
        core.read_namespaced_pod_log("p", "default")
    assert which.value.status == 400 and "choose one of: [app sidecar]" in which.value.body
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod_log("nope", "default")
    assert missing.value.status == 404


def test_followed_logs_stream_appended_text(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    core.create_namespaced_pod("default", {"metadata": {"name": "solo"},
                                           "spec": {"containers": [{"name": "app", "image": "x"}]}})
    emulator.set_logs("default", "solo", "first\n")
    stream = core.read_namespaced_pod_log("solo", "default", follow=True, _preload_content=False)
    lines: list[bytes] = []
    got_first = threading.Event()

    def read() -> None:
        for line in stream.stream():
            lines.append(line)
            got_first.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert got_first.wait(2)
    emulator.append_logs("default", "solo", "second\n")
    core.delete_namespaced_pod("solo", "default")  # the stream ends with the pod
    reader.join(2)
    assert b"".join(lines) == b"first\nsecond\n"


def test_port_forward_over_websocket(core: client.CoreV1Api, emulator: LabEmulator, backend: Backend) -> None:
    core.create_namespaced_pod("default", POD)
    emulator.register_backend("default", "p", 8080, backend.url)
    forward = portforward(core.connect_get_namespaced_pod_portforward, "p", "default", ports="8080")
    sock = forward.socket(8080)
    sock.setblocking(True)
    sock.settimeout(2)
    sock.sendall(b"GET /through-the-tunnel HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n")
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    assert received.startswith(b"HTTP/1.0 200") or received.startswith(b"HTTP/1.1 200")
    assert received.split(b"\r\n\r\n", 1)[1] == b"GET /through-the-tunnel"
    assert forward.error(8080) is None
    assert backend.seen == ["GET /through-the-tunnel"]


def test_port_forward_without_a_backend_reports_on_the_error_channel(
    core: client.CoreV1Api,
) -> None:
    core.create_namespaced_pod("default", POD)
    forward = portforward(core.connect_get_namespaced_pod_portforward, "p", "default", ports="7000")
    sock = forward.socket(7000)
    sock.settimeout(2)
    assert sock.recv(1) == b""
    assert "no backend registered" in (forward.error(7000) or "")
    sock.close()
