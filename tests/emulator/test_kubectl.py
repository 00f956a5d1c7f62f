"""kubectl (and helm, when installed) against the emulator. Skipped where the binary is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.emulator import LabEmulator

pytestmark = [
    pytest.mark.emulator,
    pytest.mark.timeout(30),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: demo
data: {a: "1", b: "2"}
"""


def _rv(emulator: LabEmulator, kind: str, api_version: str, name: str) -> str:
    obj = emulator.get(api_version, kind, "demo", name)
    assert obj is not None
    return str(obj["metadata"]["resourceVersion"])


def test_server_side_apply_twice_changes_nothing(emulator: LabEmulator) -> None:
    emulator.kubectl("apply", "--server-side", "-f", "-", input=MANIFEST)
    before = (_rv(emulator, "Deployment", "apps/v1", "web"), _rv(emulator, "ConfigMap", "v1", "settings"))
    emulator.clear_requests()
    emulator.kubectl("apply", "--server-side", "-f", "-", input=MANIFEST)
    after = (_rv(emulator, "Deployment", "apps/v1", "web"), _rv(emulator, "ConfigMap", "v1", "settings"))
    assert before == after
    assert {r.method for r in emulator.writes} == {"PATCH"}  # applies only, no other writes


def test_server_side_apply_removes_dropped_fields(emulator: LabEmulator) -> None:
    emulator.kubectl("apply", "--server-side", "-f", "-", input=MANIFEST)
    trimmed = MANIFEST.replace("labels: {app: web, tier: front}", "labels: {app: web}").replace(
        'data: {a: "1", b: "2"}', 'data: {a: "1"}')
    emulator.kubectl("apply", "--server-side", "-f", "-", input=trimmed)
    deployment = emulator.get("apps/v1", "Deployment", "demo", "web")
    assert deployment is not None and deployment["metadata"]["labels"] == {"app": "web"}
    assert emulator.get("v1", "ConfigMap", "demo", "settings")["data"] == {"a": "1"}


def test_server_side_apply_conflict_needs_force(emulator: LabEmulator) -> None:
    emulator.kubectl("apply", "--server-side", "-f", "-", input=MANIFEST)
    emulator.kubectl("scale", "deployment/web", "-n", "demo", "--replicas=5")
    refused = emulator.kubectl("apply", "--server-side", "-f", "-", input=MANIFEST, check=False)
    assert refused.returncode != 0 and "conflict" in refused.stderr
    emulator.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=MANIFEST)
    assert emulator.get("apps/v1", "Deployment", "demo", "web")["spec"]["replicas"] == 2


def test_client_side_apply_and_get(emulator: LabEmulator) -> None:
    first = emulator.kubectl("apply", "-f", "-", input=MANIFEST)
    assert "configmap/settings created" in first.stdout
    again = emulator.kubectl("apply", "-f", "-", input=MANIFEST)
    assert "configmap/settings unchanged" in again.stdout
    listed = json.loads(emulator.kubectl("get", "configmaps", "-n", "demo", "-l", "!missing", "-o", "json").stdout)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["settings"]
    table = emulator.kubectl("get", "deploy", "-n", "demo").stdout
    assert table.split()[:2] == ["NAME", "AGE"] and "web" in table


def test_wait_for_condition(emulator: LabEmulator) -> None:
    emulator.kubectl("apply", "--server-side", "-f", "-", input=MANIFEST)
    emulator.auto_ready("Deployment", after=0.2)
    waited = emulator.kubectl("wait", "--for=condition=Available", "deployment/web", "-n", "demo", "--timeout=2s")
    assert "condition met" in waited.stdout
    rollout = emulator.kubectl("rollout", "status", "deployment/web", "-n", "demo", "--timeout=2s")
    assert "successfully rolled out" in rollout.stdout


def test_delete_namespace_cascades(emulator: LabEmulator) -> None:
    emulator.kubectl("apply", "--server-side", "-f", "-", input=MANIFEST)
    emulator.kubectl("delete", "namespace", "demo", "--timeout=2s")
    assert emulator.get("v1", "Namespace", None, "demo") is None
    assert emulator.list("apps/v1", "Deployment") == []
    assert emulator.list("v1", "ConfigMap", "demo") == []


def test_typed_generators_send_protobuf(emulator: LabEmulator) -> None:
    emulator.kubectl("create", "namespace", "gen")
    emulator.kubectl("create", "configmap", "c", "-n", "gen", "--from-literal=k=v")
    emulator.kubectl("create", "secret", "generic", "s", "-n", "gen", "--from-literal=pw=x")
    emulator.kubectl("create", "deployment", "d", "-n", "gen", "--image=nginx", "--replicas=2", "--port=80")
    assert any("protobuf" in r.content_type for r in emulator.writes)
    assert emulator.get("v1", "ConfigMap", "gen", "c")["data"] == {"k": "v"}
    assert emulator.get("v1", "Secret", "gen", "s")["data"] == {"pw": "eA=="}
    deployment = emulator.get("apps/v1", "Deployment", "gen", "d")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"}]


def test_kubectl_port_forward_is_refused_clearly(emulator: LabEmulator) -> None:
    emulator.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                     "spec": {"containers": [{"name": "c", "image": "x"}]}})
    emulator.auto_ready("Pod", after=0)
    emulator.wait_ready("v1", "Pod", "default", "p")
    result = emulator.kubectl("port-forward", "pod/p", "0:80", check=False, timeout=5)
    assert result.returncode != 0 and "SPDY (kubectl port-forward) is not implemented" in result.stderr


@pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not installed")
def test_helm_install_upgrade_uninstall(emulator: LabEmulator, tmp_path: Path) -> None:
    emulator.auto_ready(after=0)
    env = {"KUBECONFIG": str(emulator.kubeconfig), "HOME": str(tmp_path), "PATH": str(Path(shutil.which("helm")).parent)}

    def helm(*args: str) -> str:
        done = subprocess.run(["helm", *args], capture_output=True, text=True, env=env, timeout=25, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    helm("create", str(tmp_path / "chart"))
    rendered = helm("template", "r1", str(tmp_path / "chart"))
    assert "kind: Deployment" in rendered
    helm("install", "r1", str(tmp_path / "chart"), "-n", "apps", "--create-namespace", "--wait", "--timeout", "2s")
    helm("upgrade", "r1", str(tmp_path / "chart"), "-n", "apps", "--set", "replicaCount=2", "--wait",
         "--timeout", "2s")
    assert emulator.get("apps/v1", "Deployment", "apps", "r1-chart")["spec"]["replicas"] == 2
    assert "deployed" in helm("list", "-n", "apps")
    helm("uninstall", "r1", "-n", "apps", "--wait")
    assert emulator.list("apps/v1", "Deployment", "apps") == []
    assert emulator.list("v1", "Secret", "apps") == []
