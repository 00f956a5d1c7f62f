"""Tier 3 (and tier 4): the engine against a real API server with real controllers and pods.

Real rollouts: the Deployment becomes ready because kubelet started its pods and their readiness
probes passed. "No spurious writes" is asserted from the objects' resourceVersions, which any
write (even a no-op server-side apply that touched managedFields) would change.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from illm_lab import kube
from illm_lab.base.identity import ObjectRef
from illm_lab.engine import prune, readiness
from illm_lab.engine.apply import Applier, ApplyReport, plan
from illm_lab.engine.inventory import Inventory
from illm_lab.engine.wait import wait_all, wait_for
from illm_lab.kube import errors as kerrors
from illm_lab.ledger import Ledger
from tests.engine import objects as o
from tests.support.real_cluster import RealCluster

pytestmark = pytest.mark.cluster
PORT = 9898


@pytest.fixture
def ns() -> str:
    return f"lab-eng-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cluster(real_cluster: RealCluster, ns: str) -> Iterator[kube.Cluster]:
    with kube.connect(real_cluster.kubeconfig, real_cluster.context) as c:
        try:
            yield c
        finally:  # whatever a failed test left: its namespace, and anything labelled for it
            c.delete("v1", "Namespace", ns, wait=True, deadline=time.monotonic() + 90)


def app(real_cluster: RealCluster, ns: str, replicas: int = 2) -> list[dict[str, Any]]:
    dep = o.deployment("web", ns, replicas=replicas, image=real_cluster.images["app"],
                       pull_policy=real_cluster.pull_policy)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    container["ports"] = [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
    container["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": PORT}, "periodSeconds": 1}
    svc = o.service("web", ns, port=PORT)
    svc["spec"]["selector"] = {"app": "web"}
    svc["spec"]["ports"][0]["name"] = "http"
    return [dep, svc, o.configmap("settings", ns, mode="fast"), o.configmap("extra", ns),
            o.secret("token", ns)]


def versions(cluster: kube.Cluster, refs: list[ObjectRef]) -> dict[str, str]:
    out = {}
    for ref in refs:
        live = cluster.get(ref.api_version, ref.kind, ref.name, ref.namespace)
        assert live is not None, ref
        out[ref.key] = live["metadata"]["resourceVersion"]
    return out


def test_apply_reapply_change_prune_delete_with_real_rollouts(
    real_cluster: RealCluster, cluster: kube.Cluster, ns: str, tmp_path: Path,
) -> None:
    inv = Inventory("engine-e2e", f"engine-e2e-{ns[-8:]}")
    ledger = Ledger(tmp_path / "state")

    def deploy(objs: list[dict[str, Any]]) -> tuple[ApplyReport, list[ObjectRef]]:
        desired = plan([("namespaces", [o.namespace(ns)]), ("app", objs)], inv)
        with ledger.start(o.experiment(), {}, instance=inv.instance, command="apply") as run:
            report = Applier(cluster, inv, recorder=run.recorder("target"),
                             previous=ledger.live_hashes(inv.instance, "target")).apply(desired)
        refs = [d.ref for d in desired]
        wait_all(cluster, refs, deadline=time.monotonic() + 120)
        return report, refs

    first, refs = deploy(app(real_cluster, ns))
    assert first.counts() == {"created": 6}
    web = cluster.get("apps/v1", "Deployment", "web", ns)
    assert web is not None and web["status"]["availableReplicas"] == 2
    status, body = cluster.proxy_get(ns, "web", "http", "/readyz")
    assert status == 200, body

    before = versions(cluster, refs)
    second, _ = deploy(app(real_cluster, ns))
    assert second.counts() == {"unchanged": 6}
    assert versions(cluster, refs) == before  # not one write

    third, _ = deploy(app(real_cluster, ns, replicas=3))
    assert third.counts() == {"unchanged": 5, "configured": 1}
    web = cluster.get("apps/v1", "Deployment", "web", ns)
    assert web is not None and web["status"]["availableReplicas"] == 3

    # drift by someone else (a plain merge patch, as `kubectl scale` would) is corrected
    cluster.transport.request(
        "PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/web", body=b'{"spec":{"replicas":1}}',
        content_type="application/merge-patch+json", query={"fieldManager": "someone-else"},
    )
    fourth, _ = deploy(app(real_cluster, ns, replicas=3))
    assert fourth.counts() == {"unchanged": 5, "configured": 1}
    assert (cluster.get("apps/v1", "Deployment", "web", ns) or {})["spec"]["replicas"] == 3

    # prune the ConfigMap no longer rendered
    fewer = [x for x in app(real_cluster, ns, replicas=3) if x["metadata"]["name"] != "extra"]
    _, kept = deploy(fewer)
    previous = ledger.outstanding(inv.instance)["target"].refs
    live = prune.labelled(cluster, inv, {(r.api_version, r.kind) for r in previous})
    stale = prune.stale(kept, previous, live)
    assert stale == [ObjectRef("v1", "ConfigMap", "extra", ns)]
    prune.delete_all(cluster, stale, deadline=time.monotonic() + 30)
    assert cluster.get("v1", "ConfigMap", "extra", ns) is None

    # delete everything, foreground, in reverse order
    removed = prune.delete_all(cluster, kept, deadline=time.monotonic() + 120)
    assert {r.action for r in removed} == {"deleted"}
    for ref in kept:
        assert cluster.get(ref.api_version, ref.kind, ref.name, ref.namespace) is None


def job(name: str, ns: str, real_cluster: RealCluster, code: int) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns},
            "spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "c", "image": real_cluster.images["app"],
                                "imagePullPolicy": real_cluster.pull_policy,
                                "command": ["sh", "-c", f"exit {code}"]}]}}}}


def test_jobs_pods_and_timeouts_on_a_real_cluster(real_cluster: RealCluster, cluster: kube.Cluster,
                                                  ns: str) -> None:
    inv = Inventory("engine-e2e", "engine-jobs")
    objs = [job("ok", ns, real_cluster, 0), job("bad", ns, real_cluster, 3),
            o.deployment("never", ns, image="lab.local/does-not-exist:1", pull_policy="Never")]
    Applier(cluster, inv).apply(plan([("ns", [o.namespace(ns)]), ("jobs", objs)], inv))
    done = wait_for(cluster, ObjectRef("batch/v1", "Job", "ok", ns), readiness.job_complete,
                    deadline=time.monotonic() + 90)
    assert done is not None and done["status"]["succeeded"] == 1
    with pytest.raises(kerrors.WaitFailed, match="job failed"):
        wait_for(cluster, ObjectRef("batch/v1", "Job", "bad", ns), readiness.job_complete,
                 deadline=time.monotonic() + 90)
    started = time.monotonic()
    with pytest.raises(kerrors.WaitFailed) as caught:  # the kubelet says so within seconds
        wait_for(cluster, ObjectRef("apps/v1", "Deployment", "never", ns), readiness.deployment,
                 deadline=time.monotonic() + 120)
    assert time.monotonic() - started < 60
    message = str(caught.value)
    assert message.startswith(f"Deployment {ns}/never: 0/1 ready: pod never-"), message
    assert "container app: ErrImageNeverPull" in message and "lab.local/does-not-exist:1" in message
    assert message.endswith("this will not recover by waiting")
    assert wait_for(cluster, ObjectRef("v1", "Namespace", ns), readiness.namespace_active,
                    deadline=time.monotonic() + 5)


def test_crd_and_custom_resources_in_one_batch_on_a_real_cluster(cluster: kube.Cluster, ns: str) -> None:
    group = f"{ns}.example.com"
    inv = Inventory("engine-e2e", "engine-crd")
    comps = [("ns", [o.namespace(ns)]),
             ("widgets", [o.widget("w1", ns, group=group), o.crd(group=group)])]
    try:
        report = Applier(cluster, inv).apply(plan(comps, inv))
        assert report.counts() == {"created": 3}
        assert (cluster.get(f"{group}/v1", "Widget", "w1", ns) or {})["spec"] == {"size": 1}
        again = Applier(cluster, inv).apply(plan(comps, inv))
        assert again.counts() == {"unchanged": 3}
    finally:
        cluster.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}",
                       wait=True, deadline=time.monotonic() + 60)


def test_a_namespace_lab_owns_goes_with_its_running_pods(
    real_cluster: RealCluster, cluster: kube.Cluster, ns: str, tmp_path: Path,
) -> None:
    """Its Deployment is deleted first (background: the pods start terminating at once), the
    Namespace next; the namespace controller is told when the last pod is gone; everything is
    confirmed gone."""
    inv = Inventory("engine-e2e", f"engine-ns-{ns[-8:]}")
    desired = plan([("namespaces", [o.namespace(ns)]), ("app", app(real_cluster, ns))], inv)
    Applier(cluster, inv).apply(desired)
    refs = [d.ref for d in desired]
    wait_all(cluster, refs, deadline=time.monotonic() + 120)
    pods = cluster.list("v1", "Pod", ns)
    assert len(pods) == 2

    calls: list[tuple[str, Any]] = []
    delete, merge_patch = cluster.delete, cluster.merge_patch

    def recording_delete(*args: Any, **kwargs: Any) -> bool:
        calls.append(("delete", (args[1], kwargs.get("propagation", "Foreground"))))
        return delete(*args, **kwargs)

    def recording_patch(ref: ObjectRef, patch: dict[str, Any]) -> bool:
        calls.append(("patch", (ref.kind, ref.name, sorted(patch["metadata"]["annotations"]))))
        return merge_patch(ref, patch)

    cluster.delete, cluster.merge_patch = recording_delete, recording_patch  # type: ignore[method-assign]
    removed = prune.delete_all(cluster, refs, deadline=time.monotonic() + 120)
    assert {r.action for r in removed} == {"deleted"} and len(removed) == len(refs)
    assert calls[0] == ("delete", ("Deployment", "Background"))
    assert ("delete", ("Namespace", "Foreground")) in calls
    # the hint came after the pods were gone, and only once
    assert [c for c in calls if c[0] == "patch"] == [("patch", ("Namespace", ns, [prune.NUDGE]))]
    assert cluster.get("v1", "Namespace", ns) is None
    for pod in pods:
        assert cluster.get("v1", "Pod", pod["metadata"]["name"], ns) is None
