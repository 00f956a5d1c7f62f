"""FaultProxy: each fault as the official Python client observes it, plus credentials and TLS upstream."""

from __future__ import annotations

import base64
import http.server
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from tests.support.emulator import LabEmulator
from tests.support.faultproxy import (
    DropWatch,
    ErrorStatus,
    FaultProxy,
    Hold,
    Latency,
    Reset,
    SlowBody,
    too_many_requests,
)

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(15)]


@pytest.fixture
def proxy(emulator: LabEmulator, fault_proxy_factory: Callable[..., FaultProxy]) -> FaultProxy:
    return fault_proxy_factory(emulator.kubeconfig)


def _client(kubeconfig: Path | None, *, retries: bool | None = False) -> client.ApiClient:
    """A client for the proxy; `retries=False` shows every fault (urllib3 would retry reads)."""
    assert kubeconfig is not None
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    configuration.retries = retries
    return client.ApiClient(configuration)


@pytest.fixture
def proxied(proxy: FaultProxy) -> Iterator[client.CoreV1Api]:
    api_client = _client(proxy.kubeconfig)
    yield client.CoreV1Api(api_client)
    api_client.close()


def test_kubeconfig_points_at_the_proxy_without_credentials(proxy: FaultProxy, emulator: LabEmulator,
                                                            proxied: client.CoreV1Api) -> None:
    assert proxy.kubeconfig is not None
    written = yaml.safe_load(proxy.kubeconfig.read_text())
    assert written["clusters"][0]["cluster"]["server"] == proxy.url
    assert written["users"][0]["user"] == {} and written["current-context"] == "emulator"
    assert oct(proxy.kubeconfig.stat().st_mode & 0o777) == "0o600"
    proxied.list_namespace()
    seen = emulator.requests[-1]
    assert seen.path == "/api/v1/namespaces"
    assert seen.headers["Authorization"] == "Bearer lab-emulator-token"  # added by the proxy


def test_429_with_retry_after_on_the_nth_request(proxy: FaultProxy, proxied: client.CoreV1Api) -> None:
    rule = proxy.add(too_many_requests(retry_after=3), method="GET", path=r"/namespaces$", nth=2)
    proxied.list_namespace()
    with pytest.raises(ApiException) as throttled:
        proxied.list_namespace()
    assert throttled.value.status == 429
    assert throttled.value.headers["Retry-After"] == "3"
    assert json.loads(throttled.value.body)["reason"] == "TooManyRequests"
    proxied.list_namespace()
    assert (rule.seen, rule.injected, proxy.faults_injected) == (3, 1, 1)
    assert proxy.requests_seen == 3 and proxy.seen("GET", "/namespaces") == 3


@pytest.mark.parametrize("code", [500, 503, 504])
def test_server_errors_carry_a_status_body(proxy: FaultProxy, proxied: client.CoreV1Api, code: int) -> None:
    proxy.add(ErrorStatus(code), method="POST", times=1)
    body = {"metadata": {"name": "a"}}
    with pytest.raises(ApiException) as failed:
        proxied.create_namespaced_config_map("default", body)
    status = json.loads(failed.value.body)
    assert failed.value.status == code and status["kind"] == "Status" and status["code"] == code
    assert proxied.create_namespaced_config_map("default", body).metadata.name == "a"  # times=1


def test_hold_until_released(proxy: FaultProxy, proxied: client.CoreV1Api) -> None:
    proxy.add(Hold(), method="POST", path="/configmaps")
    result: list[Any] = []
    writer = threading.Thread(target=lambda: result.append(
        proxied.create_namespaced_config_map("default", {"metadata": {"name": "held"}})))
    writer.start()
    proxy.wait_held(timeout=2)
    assert proxy.held == 1 and result == []
    assert [c.metadata.name for c in proxied.list_namespaced_config_map("default").items] == []
    assert proxy.release() == 1
    writer.join(2)
    assert result[0].metadata.name == "held"
    with pytest.raises(TimeoutError):
        proxy.wait_held(timeout=0.05)


def test_connection_reset(proxy: FaultProxy, proxied: client.CoreV1Api) -> None:
    proxy.add(Reset(), method="GET", times=1)
    with pytest.raises(urllib3.exceptions.HTTPError):
        proxied.list_namespace()
    proxy.add(Reset(after_headers=True), method="GET", times=1)
    with pytest.raises((urllib3.exceptions.HTTPError, ApiException, ValueError)):
        proxied.list_namespace()
    assert proxied.list_namespace().items  # the rules are spent


def test_default_client_silently_retries_reads(proxy: FaultProxy) -> None:
    """Worth knowing: with its default urllib3 retries, the Python client retries a reset GET and
    a GET answered 429/503 with Retry-After, so the caller never sees those faults."""
    api_client = _client(proxy.kubeconfig, retries=None)
    core = client.CoreV1Api(api_client)
    proxy.add(Reset(), method="GET", nth=1)
    proxy.add(ErrorStatus(503, retry_after=0), method="GET", nth=2)
    assert core.list_namespace().items
    assert proxy.seen("GET", "/api/v1/namespaces$") == 3
    proxy.add(ErrorStatus(503, retry_after=0), method="POST", times=1)
    with pytest.raises(ApiException) as not_retried:  # writes are not retried
        core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    assert not_retried.value.status == 503
    api_client.close()


def test_latency_trips_a_client_timeout(proxy: FaultProxy, proxied: client.CoreV1Api) -> None:
    rule = proxy.add(Latency(2.0), path="/namespaces", times=1)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        proxied.list_namespace(_request_timeout=0.2)
    assert rule.injected == 1
    proxy.add(Latency(0.01, jitter=0.01, per_chunk=True), path="/namespaces")
    assert len(proxied.list_namespace().items) == 4  # slower, intact


def test_slow_body_is_delivered_intact(proxy: FaultProxy, proxied: client.CoreV1Api, emulator: LabEmulator) -> None:
    emulator.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big", "namespace": "default"},
                     "data": {"blob": "x" * 4000}})
    rule = proxy.add(SlowBody(chunk_size=512, delay=0.001), path="/configmaps/big")
    assert proxied.read_namespaced_config_map("big", "default").data["blob"] == "x" * 4000
    assert rule.injected == 1


def _watch_names(proxied: client.CoreV1Api) -> list[str]:
    stream = watch.Watch().stream(proxied.list_namespaced_config_map, "default", timeout_seconds=2)
    return [e["object"].metadata.name for e in stream]


def test_drop_watch_after_events(proxy: FaultProxy, proxied: client.CoreV1Api, emulator: LabEmulator) -> None:
    for name in ("a", "b", "c"):
        emulator.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
    proxy.add(DropWatch(after_events=2), watch=True, times=1)
    assert _watch_names(proxied) == ["a", "b"]  # the stream ended early: the client saw it close


def test_drop_idle_watch_after_seconds(proxy: FaultProxy, proxied: client.CoreV1Api, emulator: LabEmulator) -> None:
    emulator.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
    proxy.add(DropWatch(after_seconds=0.1), watch=True, times=1)
    assert _watch_names(proxied) == ["a"]


def test_reset_watch_is_an_error(proxy: FaultProxy, proxied: client.CoreV1Api, emulator: LabEmulator) -> None:
    emulator.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
    proxy.add(DropWatch(after_events=1, reset=True), watch=True, times=1)
    with pytest.raises((urllib3.exceptions.HTTPError, ValueError)):
        _watch_names(proxied)


def test_python_watch_resumes_after_a_drop(
    proxy: FaultProxy, proxied: client.CoreV1Api, emulator: LabEmulator
) -> None:
    emulator.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
    proxy.add(DropWatch(after_events=1), watch=True, nth=1)
    proxy.add(Hold(), watch=True, nth=2)
    names: list[str] = []
    w = watch.Watch()

    def consume() -> None:
        for event in w.stream(proxied.list_namespaced_config_map, "default"):  # no timeout: it reconnects
            names.append(event["object"].metadata.name)
            if len(names) == 2:
                w.stop()

    consumer = threading.Thread(target=consume)
    consumer.start()
    proxy.wait_held(timeout=2)  # the client re-watched from the last resourceVersion it saw
    emulator.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "default"}})
    proxy.release()
    consumer.join(2)
    assert names == ["a", "b"]
    rewatch = [r.target for r in proxy.log if "watch=true" in r.target][1]
    assert "resourceVersion=" in rewatch


def test_random_faults_replay_with_the_same_seed(emulator: LabEmulator, tmp_path: Path) -> None:
    def pattern(seed: int) -> list[int]:
        with FaultProxy(emulator.kubeconfig, workdir=tmp_path / str(seed), seed=seed) as proxy:
            proxy.add(ErrorStatus(503), probability=0.5)
            api_client = _client(proxy.kubeconfig)
            core = client.CoreV1Api(api_client)
            codes = []
            for _ in range(16):
                try:
                    core.list_namespace()
                    codes.append(200)
                except ApiException as exc:
                    codes.append(exc.status)
            api_client.close()
            return codes

    first = pattern(7)
    assert first == pattern(7)
    assert set(first) == {200, 503}


# ---------------------------------------------------------------- TLS upstream with client certificates


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_upstream(tmp_path: Path) -> Iterator[Path]:
    """An HTTPS server that requires a client certificate, and a kubeconfig for it (inline data)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=lab-ca",
             cwd=tmp_path)
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=lab-{name}",
                 cwd=tmp_path)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "1", "-extfile", "san.ext", cwd=tmp_path)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            cert: Any = self.connection.getpeercert()  # type: ignore[attr-defined]
            subject = dict(item[0] for item in cert["subject"])
            version = {key: "" for key in ("buildDate", "compiler", "gitCommit", "gitTreeState", "goVersion",
                                           "platform")}
            version.update(major="1", minor="32", gitVersion=f"client={subject['commonName']}")
            body = json.dumps(version).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    context.load_verify_locations(tmp_path / "ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def data(name: str) -> str:
        return base64.b64encode((tmp_path / name).read_bytes()).decode()

    kubeconfig = tmp_path / "tls.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "tier3",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{server.server_port}",
                                               "certificate-authority-data": data("ca.crt")}}],
        "users": [{"name": "u", "user": {"client-certificate-data": data("client.crt"),
                                         "client-key-data": data("client.key")}}],
        "contexts": [{"name": "tier3", "context": {"cluster": "c", "user": "u", "namespace": "lab"}}],
    }))
    yield kubeconfig
    server.shutdown()
    server.server_close()


def test_tls_upstream_with_client_certificate(tls_upstream: Path,
                                              fault_proxy_factory: Callable[..., FaultProxy]) -> None:
    proxy = fault_proxy_factory(tls_upstream)
    assert proxy.kubeconfig is not None
    written = yaml.safe_load(proxy.kubeconfig.read_text())
    assert written["current-context"] == "tier3" and written["contexts"][0]["context"]["namespace"] == "lab"
    api_client = config.new_client_from_config(config_file=str(proxy.kubeconfig))
    version = client.VersionApi(api_client).get_code()
    api_client.close()
    assert version.git_version == "client=lab-client"  # the proxy presented the upstream's client cert


def test_websocket_upgrades_are_relayed(
    proxy: FaultProxy, emulator: LabEmulator, proxied: client.CoreV1Api
) -> None:
    from kubernetes.stream import portforward

    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    emulator.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                     "spec": {"containers": [{"name": "c", "image": "x"}]}})
    emulator.register_backend("default", "p", 8080, f"http://127.0.0.1:{server.server_port}")
    forward = portforward(proxied.connect_get_namespaced_pod_portforward, "p", "default", ports="8080")
    sock = forward.socket(8080)
    sock.settimeout(2)
    sock.sendall(b"GET /via-proxy HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    server.shutdown()
    server.server_close()
    assert b" 204 " in received.split(b"\r\n", 1)[0] and seen == ["/via-proxy"]
    assert proxy.seen("GET", "/portforward") == 1
