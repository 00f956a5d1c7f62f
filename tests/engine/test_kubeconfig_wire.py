"""The kubeconfig reader over the wire: TLS with a certificate authority from a file or from
data, client certificates (files, data, from an exec plugin), tls-server-name,
insecure-skip-tls-verify, a proxy with credentials, and a 401 that renews an exec credential.
Local servers on 127.0.0.1, certificates made by `openssl`."""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from illm_lab import kube
from illm_lab.kube import credentials
from illm_lab.kube import errors as kerrors

pytestmark = pytest.mark.timeout(60)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA; `server` for IP 127.0.0.1, `named` for DNS kube.internal only; a `client`; and a
    second CA (`other-ca`) that trusts none of them."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "1",
                 "-subj", f"/CN=lab-{ca}", cwd=d)
    sans = {"server": "IP:127.0.0.1", "named": "DNS:kube.internal", "client": "DNS:client"}
    for name, san in sans.items():
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=lab-{name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "1", "-extfile", f"{name}.ext", cwd=d)
    return d


class _Handler(http.server.BaseHTTPRequestHandler):
    """/version, answering with who the client is: its certificate's CN and its Authorization.
    A server with `accept` set answers 401 to any other Authorization."""

    accept: str | None = None
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        cert: Any = getattr(self.connection, "getpeercert", lambda: None)()
        subject = dict(item[0] for item in cert["subject"]) if cert else {}
        authorization = self.headers.get("Authorization", "")
        self.seen.append({"path": self.path, "authorization": authorization,
                          "proxy": self.headers.get("Proxy-Authorization", "")})
        if self.accept is not None and authorization != self.accept:
            self._send(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 401,
                             "reason": "Unauthorized", "message": "Unauthorized"})
            return
        self._send(200, {"gitVersion": f"client={subject.get('commonName', '-')}", "major": "1", "minor": "32"})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


Serve = Callable[..., tuple[str, list[dict[str, str]]]]


@pytest.fixture
def serve(pki: Path) -> Iterator[Serve]:
    """`serve(cert=None|"server"|"named", client_ca=False, accept=None)` -> (url, requests seen)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(cert: str | None = "server", client_ca: bool = False, accept: str | None = None
              ) -> tuple[str, list[dict[str, str]]]:
        seen: list[dict[str, str]] = []
        handler = type("Handler", (_Handler,), {"accept": accept, "seen": seen})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        scheme = "http"
        if cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pki / f"{cert}.crt", pki / f"{cert}.key")
            if client_ca:
                context.load_verify_locations(pki / "ca.crt")
                context.verify_mode = ssl.CERT_REQUIRED
            server.socket = context.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"{scheme}://127.0.0.1:{server.server_port}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def kubeconfig(path: Path, server: str, *, cluster: dict[str, Any] | None = None,
               user: dict[str, Any] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "ctx",
        "clusters": [{"name": "c", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "u", "user": user or {}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    }))
    return path


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def version(path: Path) -> str:
    with kube.connect(path, None) as cluster:
        return cluster.server_version()


def leftover_pems() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("lab-kube-")}


def test_authority_and_client_certificate_from_relative_files(tmp_path: Path, pki: Path, serve: Serve) -> None:
    url, _ = serve(client_ca=True)
    shutil.copytree(pki, tmp_path / "conf" / "pki")
    path = kubeconfig(tmp_path / "conf" / "kc", url, cluster={"certificate-authority": "pki/ca.crt"},
                      user={"client-certificate": "pki/client.crt", "client-key": "pki/client.key"})
    assert version(path) == "client=lab-client"


def test_authority_and_client_certificate_from_data_leave_no_file(tmp_path: Path, pki: Path, serve: Serve) -> None:
    url, _ = serve(client_ca=True)
    before = leftover_pems()
    path = kubeconfig(tmp_path / "kc", url, cluster={"certificate-authority-data": b64(pki / "ca.crt")},
                      user={"client-certificate-data": b64(pki / "client.crt"),
                            "client-key-data": b64(pki / "client.key")})
    assert version(path) == "client=lab-client"
    assert leftover_pems() == before


def test_tls_server_name_verifies_the_name_the_certificate_has(tmp_path: Path, pki: Path, serve: Serve) -> None:
    url, _ = serve(cert="named")  # its certificate names kube.internal, not 127.0.0.1
    plain = kubeconfig(tmp_path / "plain", url, cluster={"certificate-authority-data": b64(pki / "ca.crt")})
    with pytest.raises(kerrors.Unreachable, match="TLS handshake failed"):
        version(plain)
    named = kubeconfig(tmp_path / "named", url, cluster={"certificate-authority-data": b64(pki / "ca.crt"),
                                                         "tls-server-name": "kube.internal"})
    assert version(named) == "client=-"


def test_an_untrusted_server_is_refused_unless_told_to_skip_verification(
        tmp_path: Path, pki: Path, serve: Serve) -> None:
    url, _ = serve()
    other = kubeconfig(tmp_path / "other", url, cluster={"certificate-authority": str(pki / "other-ca.crt")})
    with pytest.raises(kerrors.Unreachable) as caught:
        version(other)
    assert caught.value.exit_code == 3 and "TLS handshake failed" in str(caught.value)
    insecure = kubeconfig(tmp_path / "insecure", url, cluster={"insecure-skip-tls-verify": True})
    assert version(insecure) == "client=-"


def _plugin(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "plugin"
    path.write_text(f"#!{sys.executable}\nimport json, os, sys\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_exec_plugin_client_certificate(tmp_path: Path, pki: Path, serve: Serve) -> None:
    credentials._issued.clear()
    url, _ = serve(client_ca=True)
    plugin = _plugin(tmp_path / "bin", (
        "status = {'clientCertificateData': open(sys.argv[1]).read(), 'clientKeyData': open(sys.argv[2]).read()}\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential',"
        " 'status': status}))\n"))
    path = kubeconfig(tmp_path / "kc", url, cluster={"certificate-authority-data": b64(pki / "ca.crt")},
                      user={"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin),
                                     "args": [str(pki / "client.crt"), str(pki / "client.key")]}})
    assert version(path) == "client=lab-client"
    credentials._issued.clear()


def test_a_401_renews_the_exec_credential_once(tmp_path: Path, serve: Serve) -> None:
    credentials._issued.clear()
    log = tmp_path / "runs"
    plugin = _plugin(tmp_path / "bin", (
        f"log = {str(log)!r}\n"
        "open(log, 'a').write('run\\n')\n"
        "n = len(open(log).read().splitlines())\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',"
        " 'status': {'token': f'tok-{n}'}}))\n"))
    url, seen = serve(cert=None, accept="Bearer tok-2")  # the first token has been revoked
    path = kubeconfig(tmp_path / "kc", url, user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}})
    assert version(path) == "client=-"
    assert [s["authorization"] for s in seen] == ["Bearer tok-1", "Bearer tok-2"]
    url, seen = serve(cert=None, accept="Bearer never")  # a credential that stays refused: one retry
    path = kubeconfig(tmp_path / "kc2", url, user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}})
    with pytest.raises(kerrors.ApiError) as caught:
        version(path)
    assert "401" in str(caught.value) and len(seen) == 2
    credentials._issued.clear()


def test_proxy_url_with_credentials(tmp_path: Path, serve: Serve) -> None:
    proxy, seen = serve(cert=None)  # answers what it is asked; a forward proxy is asked absolute URLs
    user_proxy = proxy.replace("http://", "http://lab:pr%40xy@")
    path = kubeconfig(tmp_path / "kc", "http://cluster.invalid:6443",
                      cluster={"proxy-url": user_proxy}, user={"token": "t"})
    assert version(path) == "client=-"
    [request] = seen
    assert request["path"] == "http://cluster.invalid:6443/version"
    assert request["proxy"] == "Basic " + base64.b64encode(b"lab:pr@xy").decode()
    assert request["authorization"] == "Bearer t"
