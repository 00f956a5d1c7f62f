"""Lab-managed port-forwards (kube/portforward.py) against the emulator's WebSocket
port-forward: a loopback listener reaching a Service's pod, re-resolving the pod when it is
replaced, and leaving no thread or socket behind when closed."""

from __future__ import annotations

import contextlib
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from illm_lab.kube import Cluster, connect, errors
from illm_lab.kube.portforward import PortForward, resolve_service
from tests.support.demoapp import demo_app
from tests.support.emulator import LabEmulator

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(30)]

NS = "default"


def pod(name: str, *, ready: bool = True, port_name: str = "http") -> dict[str, object]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "x",
                                 "ports": [{"name": port_name, "containerPort": 9898}]}]},
        "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


@pytest.fixture
def web(emulator: LabEmulator) -> Iterator[tuple[LabEmulator, Cluster]]:
    emulator.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS},
                     "spec": {"selector": {"app": "web"},
                              "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    emulator.create(pod("web-1"))
    with connect(emulator.kubeconfig) as cluster:
        yield emulator, cluster


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def lab_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lab-forward")]


def test_resolves_service_port_name_to_the_pods_container_port(web: tuple[LabEmulator, Cluster]) -> None:
    _emu, cluster = web
    target = resolve_service(cluster, NS, "web", "80")
    assert (target.pod, target.port) == ("web-1", 9898)
    assert resolve_service(cluster, NS, "web", "http") == target
    with pytest.raises(errors.NoForwardTarget, match="has no port 81"):
        resolve_service(cluster, NS, "web", "81")
    with pytest.raises(errors.NoForwardTarget, match="not found"):
        resolve_service(cluster, NS, "nope", "80")


def test_forward_serves_many_connections_and_closes_cleanly(web: tuple[LabEmulator, Cluster]) -> None:
    emu, cluster = web
    with demo_app() as url:
        emu.register_backend(NS, "web-1", 9898, url)
        forward = PortForward(cluster, NS, "web", 80).start()
        try:
            assert forward.url.startswith("http://127.0.0.1:")
            for _ in range(3):
                assert get(forward.url + "/readyz") == (200, b"ok")
            assert forward.connections == 3
        finally:
            forward.close()
        assert forward.join() and lab_threads() == []
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", forward.local_port), timeout=1).close()


@contextmanager
def echo_server() -> Iterator[str]:
    """A loopback server that echoes and keeps every connection open until the client leaves."""
    listener = socket.create_server(("127.0.0.1", 0))
    conns: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conns.append(conn)
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := conn.recv(4096):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for conn in conns:
            conn.close()


def test_close_ends_an_open_tunnel(web: tuple[LabEmulator, Cluster]) -> None:
    emu, cluster = web
    with echo_server() as url:
        emu.register_backend(NS, "web-1", 9898, url)
        with PortForward(cluster, NS, "web", "http") as forward:
            idle = socket.create_connection(("127.0.0.1", forward.local_port), timeout=5)
            idle.sendall(b"still there?")
            assert idle.recv(4096) == b"still there?"
            assert forward.alive_threads == 2  # the acceptor and this tunnel
        assert idle.recv(10) == b""  # closed by the forward, not by the backend
        idle.close()
    assert lab_threads() == []


def test_a_replaced_pod_is_found_again(web: tuple[LabEmulator, Cluster]) -> None:
    emu, cluster = web
    with demo_app() as url, PortForward(cluster, NS, "web", 80) as forward:
        emu.register_backend(NS, "web-1", 9898, url)
        assert get(forward.url + "/readyz")[0] == 200
        emu.delete("v1", "Pod", NS, "web-1")
        emu.create(pod("web-2"))
        emu.register_backend(NS, "web-2", 9898, url)
        assert get(forward.url + "/readyz") == (200, b"ok")
        assert forward.resolve().pod == "web-2"


def test_a_pod_without_a_backend_reports_on_the_error_channel(web: tuple[LabEmulator, Cluster]) -> None:
    _emu, cluster = web
    seen: list[str] = []
    with (
        PortForward(cluster, NS, "web", 80, on_error=seen.append) as forward,
        pytest.raises((urllib.error.URLError, ConnectionError)),
    ):
        get(forward.url + "/")
    assert forward.last_error and "no backend registered" in forward.last_error
    assert seen == [forward.last_error]


def test_requested_port_taken(web: tuple[LabEmulator, Cluster]) -> None:
    _emu, cluster = web
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        with pytest.raises(errors.PortInUse, match=f"local port {taken} is taken"):
            PortForward(cluster, NS, "web", 80, local_port=taken).start()
        with PortForward(cluster, NS, "web", 80, local_port=taken, fallback=True) as forward:
            assert forward.requested_port_taken and forward.local_port != taken
    assert lab_threads() == []
