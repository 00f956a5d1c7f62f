"""What holds a deletion (engine/holds.py, engine/nodes.py), from what the server says."""

from __future__ import annotations

import datetime as dt
from typing import Any

from illm_lab.base.identity import ObjectRef
from illm_lab.engine import holds, nodes


def _stamp(seconds_ago: float) -> str:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Cluster:
    """Answers `get` and `list` from a fixed set of objects."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = objects
        self.gets: list[tuple[str, str]] = []

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self.gets.append((kind, name))
        return next((o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name
                     and o["metadata"].get("namespace") == namespace), None)

    def list(self, api_version: str, kind: str, namespace: str | None = None, *_: Any) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind and o["metadata"].get("namespace") == namespace]


def _node(ready: str = "True") -> dict[str, Any]:
    return {"kind": "Node", "metadata": {"name": "n1"},
            "status": {"conditions": [{"type": "Ready", "status": ready, "message": "Kubelet stopped posting node status."}]}}


def _lease(seconds_ago: float) -> dict[str, Any]:
    return {"kind": "Lease", "metadata": {"name": "n1", "namespace": "kube-node-lease"},
            "spec": {"renewTime": _stamp(seconds_ago), "leaseDurationSeconds": 40}}


def _terminating_pod() -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": "web-1", "namespace": "demo", "deletionTimestamp": _stamp(5)},
            "spec": {"nodeName": "n1"}}


def test_a_finalizer_is_named_with_the_way_out() -> None:
    ref = ObjectRef("v1", "ConfigMap", "pinned", "demo")
    last = {"metadata": {"name": "pinned", "finalizers": ["example.com/hold"]}}
    said = holds.explain(_Cluster(), ref, last)  # type: ignore[arg-type]
    assert "held by finalizer example.com/hold" in said and "--force-finalizers" in said


def test_a_namespace_says_which_content_holds_it() -> None:
    ns = {"metadata": {"name": "demo"}, "status": {"phase": "Terminating", "conditions": [
        {"type": "NamespaceDeletionContentFailure", "status": "False", "message": "All content successfully deleted"},
        {"type": "NamespaceFinalizersRemaining", "status": "True",
         "message": "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"},
    ]}}
    said = holds.explain(_Cluster(), ObjectRef("v1", "Namespace", "demo"), ns)  # type: ignore[arg-type]
    assert "example.com/hold in 1 resource instances" in said
    assert "successfully deleted" not in said  # conditions that are False say nothing


def test_a_pod_on_a_silent_node_names_the_node() -> None:
    cluster = _Cluster(_node(), _lease(95), _terminating_pod())
    said = holds.explain(cluster, ObjectRef("v1", "Namespace", "demo"), {"metadata": {"name": "demo"}})  # type: ignore[arg-type]
    assert "pod demo/web-1 is Terminating on node n1" in said
    assert "last renewed its lease 95s ago" in said


def test_many_pods_on_one_healthy_node_ask_for_the_node_once() -> None:
    pods = [{**_terminating_pod(), "metadata": {**_terminating_pod()["metadata"], "name": f"web-{i}"}}
            for i in range(20)]
    cluster = _Cluster(_node(), _lease(3), *pods)
    said = holds.explain(cluster, ObjectRef("v1", "Namespace", "demo"), {"metadata": {"name": "demo"}})  # type: ignore[arg-type]
    assert "Terminating on node" not in said
    assert cluster.gets.count(("Node", "n1")) <= 1 and cluster.gets.count(("Lease", "n1")) == 1


def test_a_node_that_renews_its_lease_is_not_blamed() -> None:
    assert nodes.silence(_Cluster(_node(), _lease(3)), "n1") is None  # type: ignore[arg-type]
    assert "not Ready" in (nodes.silence(_Cluster(_node("Unknown"), _lease(3)), "n1") or "")  # type: ignore[arg-type]
    assert nodes.silence(_Cluster(), "gone") == "which no longer exists"  # type: ignore[arg-type]


def test_nothing_known_says_the_controller_is_still_at_work() -> None:
    said = holds.explain(_Cluster(), ObjectRef("apps/v1", "Deployment", "web", "demo"), {"metadata": {}})  # type: ignore[arg-type]
    assert "has not finished" in said
