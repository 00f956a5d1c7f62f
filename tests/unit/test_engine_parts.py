"""Pure parts of the engine: inventory stamping and hashes, drift, phases, readiness rules,
cluster selection precedence."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from illm_lab.config.selection import select
from illm_lab.engine import drift, readiness
from illm_lab.engine.inventory import ANNOTATION_HASH, Inventory, config_hash, instance_id, stamp
from illm_lab.engine.order import Phase, phase_of
from tests.engine import objects as o
from tests.engine.objects import experiment

INV = Inventory("demo", "demo")


def test_stamp_labels_top_level_metadata_only_and_hashes_stably() -> None:
    dep = o.deployment("web", "demo")
    stamped = stamp(dep, INV, "app")
    assert stamped["metadata"]["labels"]["lab.illm.io/component"] == "app"
    assert stamped["spec"] == dep["spec"]
    assert "labels" not in dep["metadata"]  # the input is not modified
    reordered = {k: dep[k] for k in reversed(list(dep))}
    assert stamp(reordered, INV, "app")["metadata"]["annotations"][ANNOTATION_HASH] == \
        stamped["metadata"]["annotations"][ANNOTATION_HASH]
    changed = o.deployment("web", "demo", replicas=3)
    assert config_hash(stamp(changed, INV, "app")) != config_hash(stamped)
    assert config_hash(stamped) == stamped["metadata"]["annotations"][ANNOTATION_HASH]
    assert instance_id("demo") == "demo" and instance_id("demo", "b") == "demo-b"
    with pytest.raises(ValueError):
        Inventory("demo", "not a label value")


def live_of(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    live = copy.deepcopy(obj)
    live["metadata"].update(uid="u", resourceVersion="5", managedFields=[{"manager": "x"}])
    live["status"] = {"replicas": 1}
    live.update(changes)
    return live


def test_drift_sees_changes_to_applied_fields_only() -> None:
    dep = stamp(o.deployment("web", "demo"), INV, "app")
    live = live_of(dep)
    live["spec"]["template"]["spec"]["dnsPolicy"] = "ClusterFirst"  # a server default
    live["metadata"]["labels"]["added-by-someone"] = "x"
    assert drift.matches(dep, live)
    live["spec"]["replicas"] = 4
    assert not drift.matches(dep, live)
    live = live_of(dep)
    del live["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert not drift.matches(dep, live)


def test_drift_understands_server_normalisation() -> None:
    dep = stamp(o.deployment("web", "demo"), INV, "app")
    dep["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "0.5", "memory": "1Gi"}}
    live = live_of(dep)
    live["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "500m", "memory": "1Gi"}}
    assert drift.matches(dep, live)
    sec = stamp(o.secret("s", "demo", "abc"), INV, "app")
    live_secret = live_of(sec, data={"token": "YWJj"})
    del live_secret["stringData"]
    assert drift.matches(sec, live_secret)
    live_secret["data"] = {"token": "eHl6"}
    assert not drift.matches(sec, live_secret)


def test_projection_hash_follows_only_applied_fields() -> None:
    dep = stamp(o.deployment("web", "demo"), INV, "app")
    live = live_of(dep)
    before = drift.projection_hash(live, dep)
    live["status"] = {"replicas": 9}
    live["metadata"]["resourceVersion"] = "99"
    assert drift.projection_hash(live, dep) == before
    live["spec"]["replicas"] = 3
    assert drift.projection_hash(live, dep) != before


def test_phases() -> None:
    assert phase_of(o.crd(), None) is Phase.CRDS
    assert phase_of(o.namespace("x"), False) is Phase.NAMESPACES
    assert phase_of({"kind": "ClusterRole"}, False) is Phase.CLUSTER
    assert phase_of(o.configmap("a", "b"), True) is Phase.NAMESPACED


def dep_status(**status: Any) -> dict[str, Any]:
    obj = o.deployment("web", "demo", replicas=2)
    obj["metadata"]["generation"] = 2
    obj["status"] = status
    return obj


def test_deployment_rollout_rules() -> None:
    assert readiness.deployment(None).status == "not found"
    stale = readiness.deployment(dep_status(observedGeneration=1, updatedReplicas=2, replicas=2, availableReplicas=2))
    assert not stale.done and "generation not yet observed" in stale.status
    old = readiness.deployment(dep_status(observedGeneration=2, updatedReplicas=2, replicas=3, availableReplicas=2))
    assert not old.done and "old replicas" in old.status
    assert readiness.deployment(dep_status(observedGeneration=2, updatedReplicas=2, replicas=2, availableReplicas=2)).done
    stuck = readiness.deployment(dep_status(conditions=[
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "slow"}]))
    assert stuck.failed and "progress deadline" in stuck.failed


def test_pod_and_partial_rules() -> None:
    pod = {"status": {"phase": "Pending", "containerStatuses": [
        {"name": "c", "state": {"waiting": {"reason": "ErrImageNeverPull"}}}]}}
    assert "ErrImageNeverPull" in readiness.pod_ready(pod).status
    assert readiness.pod_ready({"status": {"phase": "Failed"}}).failed
    check = readiness.partial({"spec": {"ports": [{"port": 80}]}})
    assert check({"spec": {"ports": [{"port": 81}, {"port": 80, "protocol": "TCP"}]}}).done
    miss = check({"spec": {"ports": [{"port": 81}]}})
    assert not miss.done and miss.status.startswith("spec.ports[0]: no item matches")


def test_cluster_selection_precedence() -> None:
    exp = experiment()
    cfg = {"context": "from-config", "contexts": {"target": "target-from-config"}}
    assert select(exp, ["target"], config=cfg)["target"].context == "target-from-config"
    assert select(exp, ["target"], context="flag", config=cfg)["target"].context == "flag"
    chosen = select(exp, ["target"], context="flag", role_contexts={"target": "role"}, config=cfg)["target"]
    assert (chosen.context, chosen.source) == ("role", "--target-context")
    assert select(exp, ["target"], config={})["target"].context is None


def test_ready_for_single_probes() -> None:
    assert readiness.ready({"kind": "ConfigMap"}) == (True, "exists")
    widget = {"kind": "Widget", "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    assert readiness.ready(widget) == (False, "Ready=False")
    assert readiness.ready({"kind": "Job", "status": {"conditions": [
        {"type": "Failed", "status": "True", "message": "boom"}]}}) == (False, "job failed: boom")
