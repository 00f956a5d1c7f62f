"""Connecting: kubeconfig errors are bad input (exit 2), an unreachable server is exit 3, and
neither message carries a credential; the user's kubeconfig is never written."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from illm_lab import kube
from illm_lab.base.errors import ClusterError, ConfigError
from illm_lab.kube import errors as kerrors
from tests.support.catalogs import write_experiment
from tests.support.emulator import LabEmulator
from tests.support.import_probe import IMPORT_PROBE

REPO = Path(__file__).resolve().parents[2]

TOKEN = "tok-DO-NOT-PRINT-1234"


def kubeconfig(path: Path, server: str, context: str = "ctx") -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": TOKEN}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
        "current-context": context,
    }))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("text", ["clusters: [\n", "just a string\n", "apiVersion: v1\nkind: Config\n",
                                  "contexts: 5\ncurrent-context: x\n"])
def test_malformed_kubeconfig_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kc"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        kube.connect(path, None)
    assert caught.value.exit_code == 2
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_missing_kubeconfig_and_unknown_context(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        kube.connect(tmp_path / "absent", None)
    path = kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")
    with pytest.raises(ConfigError) as caught:
        kube.connect(path, "no-such-context")
    assert "no-such-context" in str(caught.value) and TOKEN not in str(caught.value)


def test_unreachable_cluster_is_exit_3_without_credentials(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{free_port()}")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with kube.connect(path, None) as cluster, pytest.raises(kerrors.Unreachable) as caught:
        cluster.server_version()
    message = str(caught.value)
    assert isinstance(caught.value, ClusterError) and caught.value.exit_code == 3
    assert "cannot reach the cluster at http://127.0.0.1:" in message and "context ctx" in message
    assert TOKEN not in message and "\n" not in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_kubeconfig_from_environment_and_current_context(emulator: LabEmulator,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(emulator.kubeconfig))
    with kube.connect(None, None) as cluster:
        assert cluster.context == "emulator"
        assert cluster.server_version().startswith("v1.")


@pytest.mark.emulator
def test_reads_proxy_logs_and_events(emulator: LabEmulator) -> None:
    emulator.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                     "spec": {"containers": [{"name": "c", "image": "x"}]}})
    emulator.set_logs("default", "p", "one\ntwo\nthree\n")
    with kube.connect(emulator.kubeconfig, "emulator") as cluster:
        assert cluster.pod_logs("default", "p", tail_lines=2) == "two\nthree\n"
        assert cluster.get("v1", "Pod", "p", "default") is not None
        assert cluster.get("v1", "Pod", "nope", "default") is None
        assert [p["metadata"]["name"] for p in cluster.list("v1", "Pod", "default")] == ["p"]
        assert isinstance(cluster.events("default", "p"), list)
        with pytest.raises(kerrors.UnknownKind):
            cluster.get("nope.example.com/v1", "Thing", "x", "default")
        created = cluster.create({"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "made", "namespace": "default"}})
        assert created["metadata"]["uid"]
        with pytest.raises(kerrors.Conflict):
            cluster.create({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "made", "namespace": "default"}})


@pytest.mark.emulator
def test_service_proxy_by_port_number_and_name(emulator: LabEmulator) -> None:
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"hello {self.path} {self.headers.get('X-Lab', '')}".encode()
            self.send_response(200 if self.path != "/missing" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        emulator.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                         "spec": {"ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}})
        emulator.register_backend("default", "web", 8080, url)
        emulator.register_backend("default", "web", "http", url)
        with kube.connect(emulator.kubeconfig, "emulator") as cluster:
            status, body = cluster.proxy_get("default", "web", 8080, "/readyz", headers={"X-Lab": "1"})
            assert (status, body) == (200, b"hello /readyz 1")
            status, body = cluster.proxy_get("default", "web", "http", "missing")
            assert status == 404
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.emulator
def test_connecting_and_requests_do_not_import_kubernetes(emulator: LabEmulator) -> None:
    """lab reads the kubeconfig itself (adrs/0022): the official client is never imported."""
    probe = (
        "import sys\n"
        "from illm_lab import kube\n"
        "with kube.connect(sys.argv[1], 'emulator') as cluster:\n"
        "    assert 'kubernetes' not in sys.modules, 'imported by connect'\n"
        "    cluster.server_version()\n"
        "    cluster.apply({'apiVersion': 'v1', 'kind': 'ConfigMap',\n"
        "                   'metadata': {'name': 'probe', 'namespace': 'default'}})\n"
        "print('KUBERNETES' if 'kubernetes' in sys.modules else 'CLEAN')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-c", probe, str(emulator.kubeconfig)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "CLEAN", proc.stderr[-800:]
    assert emulator.get("v1", "ConfigMap", "default", "probe") is not None


@pytest.mark.emulator
def test_lab_apply_and_diff_do_not_import_kubernetes(emulator: LabEmulator, tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    write_experiment(root, "demo")
    emulator.auto_ready(["Deployment"], after=0.01)
    probe = IMPORT_PROBE
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    kube_args = ["--kubeconfig", str(emulator.kubeconfig), "--context", "emulator"]
    for args, code in ((["apply", "demo"], 0), (["apply", "demo"], 0), (["diff", "demo"], 0)):
        proc = subprocess.run(
            [sys.executable, "-c", probe, "--experiments-dir", str(root), *args, *kube_args],
            capture_output=True, text=True, env=env, timeout=120,
        )
        assert f"CLEAN {code}" in proc.stderr, (args, proc.stderr[-800:])
