"""The controller API a test uses to play kube-controller-manager and kubelet."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.support.emulator import LabEmulator

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(15)]

TEMPLATE = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def _workload(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    group = "batch/v1" if kind == "Job" else "v1" if kind == "Pod" else "apps/v1"
    if kind == "Pod":
        body_spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    elif kind == "Job":
        body_spec = {"template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}}}
    else:
        body_spec = {"selector": {"matchLabels": {"app": "x"}}, "template": TEMPLATE, **spec}
    return {"apiVersion": group, "kind": kind, "metadata": {"name": name, "namespace": "default"},
            "spec": body_spec}


def _condition(obj: dict[str, Any], ctype: str) -> str | None:
    for cond in obj["status"].get("conditions") or []:
        if cond["type"] == ctype:
            return str(cond["status"])
    return None


def test_auto_ready_deployment(emulator: LabEmulator, apps: client.AppsV1Api) -> None:
    emulator.auto_ready("Deployment", after=0.01)
    apps.create_namespaced_deployment("default", _workload("Deployment", "web", replicas=3))
    ready = emulator.wait_ready("apps/v1", "Deployment", "default", "web")
    status = ready["status"]
    assert status["observedGeneration"] == ready["metadata"]["generation"]
    assert status["readyReplicas"] == status["updatedReplicas"] == status["availableReplicas"] == 3
    assert _condition(ready, "Available") == "True"
    replicasets = emulator.list("apps/v1", "ReplicaSet", "default")
    assert len(replicasets) == 1 and replicasets[0]["status"]["readyReplicas"] == 3
    assert replicasets[0]["metadata"]["ownerReferences"][0]["uid"] == ready["metadata"]["uid"]
    # A spec change is a new generation: not ready until the controller catches up again.
    apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 1}})
    again = emulator.wait_for("apps/v1", "Deployment", "default", "web",
                              lambda o: o is not None and o["status"].get("readyReplicas") == 1)
    assert again is not None and again["status"]["observedGeneration"] == 2


def test_auto_ready_other_kinds(emulator: LabEmulator) -> None:
    emulator.auto_ready(after=0)
    for kind in ("StatefulSet", "DaemonSet", "Job", "Pod"):
        emulator.create(_workload(kind, kind.lower()))
    sts = emulator.wait_ready("apps/v1", "StatefulSet", "default", "statefulset")
    assert sts["status"]["readyReplicas"] == 1 and sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
    ds = emulator.wait_ready("apps/v1", "DaemonSet", "default", "daemonset")
    assert ds["status"]["numberReady"] == ds["status"]["desiredNumberScheduled"] == 1
    job = emulator.wait_ready("batch/v1", "Job", "default", "job")
    assert job["status"]["succeeded"] == 1 and _condition(job, "Complete") == "True"
    pod = emulator.wait_ready("v1", "Pod", "default", "pod")
    assert pod["status"]["phase"] == "Running" and _condition(pod, "Ready") == "True"
    assert pod["status"]["containerStatuses"][0]["ready"] is True


def test_nothing_becomes_ready_by_itself(emulator: LabEmulator) -> None:
    emulator.create(_workload("Deployment", "web"))
    with pytest.raises(TimeoutError):
        emulator.wait_ready("apps/v1", "Deployment", "default", "web", timeout=0.2)


def test_set_status_and_on_create(emulator: LabEmulator, core: client.CoreV1Api) -> None:
    created: list[str] = []

    def controller(pod: dict[str, Any]) -> None:
        created.append(pod["metadata"]["name"])
        emulator.set_status("v1", "Pod", "default", pod["metadata"]["name"], {"phase": "Failed"})

    emulator.on_create("Pod", controller)
    core.create_namespaced_pod("default", _workload("Pod", "p"))
    failed = emulator.wait_for("v1", "Pod", "default", "p", lambda o: o is not None and o["status"]["phase"] == "Failed")
    assert failed is not None and created == ["p"]


def test_requests_log_shows_no_spurious_writes(emulator: LabEmulator, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    emulator.clear_requests()
    core.read_namespaced_config_map("a", "default")
    core.list_namespaced_config_map("default", label_selector="x=y")
    assert emulator.writes == []
    assert [str(r) for r in emulator.requests] == [
        "GET /api/v1/namespaces/default/configmaps/a",
        "GET /api/v1/namespaces/default/configmaps?labelSelector=x%3Dy",
    ]
    core.delete_namespaced_config_map("a", "default")
    assert [(r.method, r.path) for r in emulator.writes] == [("DELETE", "/api/v1/namespaces/default/configmaps/a")]


def test_controller_api_reads_and_objects_history(emulator: LabEmulator) -> None:
    emulator.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"},
                     "data": {"v": "1"}})
    emulator.patch_object("v1", "ConfigMap", "default", "a", {"data": {"v": "2"}})
    assert emulator.get("v1", "ConfigMap", "default", "a")["data"] == {"v": "2"}
    assert [o["metadata"]["name"] for o in emulator.list("v1", "ConfigMap")] == ["a"]
    history = emulator.objects["v1/configmaps", "default", "a"].history
    assert [version["data"]["v"] for version in history] == ["1", "2"]  # kmock's object arrays
    emulator.delete("v1", "ConfigMap", "default", "a")
    assert emulator.get("v1", "ConfigMap", "default", "a") is None


def test_install_crds_plays_an_operator_that_serves_kinds_once_it_runs(emulator: LabEmulator) -> None:
    from tests.support.emulator_kinds import custom_resource_definition

    crd = custom_resource_definition("example.com", "Policy", ["v1", "v1beta1"], namespaced=False)
    assert crd["metadata"]["name"] == "policies.example.com"
    emulator.install_crds([crd], label_selector="role=operator", after=0.05)
    other = _workload("Deployment", "bystander", replicas=1)
    emulator.create(other)
    emulator.set_status("apps/v1", "Deployment", "default", "bystander", {
        "observedGeneration": 1, "conditions": [{"type": "Available", "status": "True"}]})
    operator = _workload("Deployment", "operator", replicas=1)
    operator["metadata"]["labels"] = {"role": "operator"}
    emulator.create(operator)  # created, not ready: nothing is installed yet
    with pytest.raises(TimeoutError):  # nor by the ready Deployment the selector does not match
        emulator.wait_for("apiextensions.k8s.io/v1", "CustomResourceDefinition", None,
                          "policies.example.com", lambda o: o is not None, timeout=0.3)
    assert not emulator.serves("example.com/v1", "Policy")
    emulator.auto_ready("Deployment", after=0)
    installed = emulator.wait_for("apiextensions.k8s.io/v1", "CustomResourceDefinition", None,
                                  "policies.example.com", lambda o: o is not None)
    assert installed is not None and _condition(installed, "Established") == "True"
    assert emulator.serves("example.com/v1", "Policy") and emulator.serves("example.com/v1beta1", "Policy")
    emulator.create({"apiVersion": "example.com/v1", "kind": "Policy", "metadata": {"name": "p"}})
    assert emulator.get("example.com/v1", "Policy", None, "p") is not None
