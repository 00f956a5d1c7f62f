"""Tier 2: every readiness wait, its timeout message, and watches that drop or expire.

The test plays the controllers (the emulator's `auto_ready` / `set_status`); waits run in a
worker thread and return when the watch delivers the change — no sleeps anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from illm_lab import kube
from illm_lab.base.identity import ObjectRef
from illm_lab.engine import readiness
from illm_lab.engine.wait import wait_all, wait_for
from illm_lab.kube import errors as kerrors
from tests.engine import objects as o
from tests.support.emulator import LabEmulator
from tests.support.faultproxy import DropWatch, FaultProxy, Hold

pytestmark = pytest.mark.emulator
RESULT_TIMEOUT = 10.0


@pytest.fixture
def cluster(emulator: LabEmulator) -> Iterator[kube.Cluster]:
    with kube.connect(emulator.kubeconfig, "emulator") as c:
        yield c


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as p:
        yield p


def in_background(pool: ThreadPoolExecutor, fn: Callable[[], Any]) -> Future[Any]:
    return pool.submit(fn)


def statefulset(name: str, ns: str) -> dict[str, Any]:
    obj = o.deployment(name, ns)
    obj["kind"] = "StatefulSet"
    obj["spec"]["serviceName"] = name
    return obj


def daemonset(name: str, ns: str) -> dict[str, Any]:
    obj = o.deployment(name, ns)
    obj["kind"] = "DaemonSet"
    del obj["spec"]["replicas"]
    return obj


def job(name: str, ns: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns},
            "spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}


def pod(name: str, ns: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "x"}]}}


WORKLOADS = [
    (o.deployment("d", "default", replicas=2), readiness.deployment, "rollout"),
    (statefulset("s", "default"), readiness.statefulset, "rollout"),
    (daemonset("ds", "default"), readiness.daemonset, "rollout"),
    (job("j", "default"), readiness.job_complete, "completion"),
    (pod("p", "default"), readiness.pod_ready, "readiness"),
]


@pytest.mark.parametrize(("obj", "rule", "what"), WORKLOADS, ids=[w[0]["kind"] for w in WORKLOADS])
def test_workload_waits_return_when_the_controller_reports_ready(
    emulator: LabEmulator, cluster: kube.Cluster, pool: ThreadPoolExecutor,
    obj: dict[str, Any], rule: readiness.Condition, what: str,
) -> None:
    emulator.create(obj)
    ref = ObjectRef.of(obj)
    assert not rule(emulator.get(ref.api_version, ref.kind, ref.namespace, ref.name)).done
    fut = in_background(pool, lambda: wait_for(cluster, ref, rule, deadline=time.monotonic() + 10))
    emulator.auto_ready(ref.kind)
    ready = fut.result(RESULT_TIMEOUT)
    assert rule(ready).done


@pytest.mark.parametrize(("obj", "rule", "what"), WORKLOADS, ids=[w[0]["kind"] for w in WORKLOADS])
def test_workload_wait_timeout_names_what_and_last_status(
    emulator: LabEmulator, cluster: kube.Cluster, obj: dict[str, Any], rule: readiness.Condition,
    what: str,
) -> None:
    emulator.create(obj)
    ref = ObjectRef.of(obj)
    with pytest.raises(kerrors.WaitTimeout) as caught:
        wait_for(cluster, ref, rule, deadline=time.monotonic() + 0.3)
    message = str(caught.value)
    assert message.startswith(f"{ref}: ")
    assert f"; timed out after 0.3s waiting for {what}" in message
    assert "last status: " in (caught.value.detail or "")


def test_failed_job_ends_the_wait_at_once(emulator: LabEmulator, cluster: kube.Cluster,
                                          pool: ThreadPoolExecutor) -> None:
    emulator.create(job("j", "default"))
    ref = ObjectRef("batch/v1", "Job", "j", "default")
    fut = in_background(
        pool, lambda: wait_for(cluster, ref, readiness.job_complete, deadline=time.monotonic() + 60)
    )
    emulator.set_status("batch/v1", "Job", "default", "j", {"failed": 1, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
         "message": "Job has reached the specified backoff limit"}]})
    with pytest.raises(kerrors.WaitFailed, match="job failed: Job has reached the specified backoff limit"):
        fut.result(RESULT_TIMEOUT)


def test_crd_established_namespace_active_and_absent(emulator: LabEmulator,
                                                     cluster: kube.Cluster) -> None:
    emulator.create(o.crd())
    crd_ref = ObjectRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com")
    assert wait_for(cluster, crd_ref, readiness.crd_established, deadline=time.monotonic() + 5)
    emulator.create(o.namespace("ns1"))
    ns_ref = ObjectRef("v1", "Namespace", "ns1")
    assert wait_for(cluster, ns_ref, readiness.namespace_active, deadline=time.monotonic() + 5)
    assert wait_for(cluster, ObjectRef("v1", "ConfigMap", "nothing", "ns1"), readiness.absent,
                    deadline=time.monotonic() + 5) is None


def test_crd_not_established_times_out(tmp_path: Any) -> None:
    with LabEmulator(crd_auto_establish=False).start(tmp_path / "emu") as emu, \
            kube.connect(emu.kubeconfig, "emulator") as cluster:
        emu.create(o.crd())
        ref = ObjectRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com")
        with pytest.raises(kerrors.WaitTimeout, match="Established; last status: not Established"):
            wait_for(cluster, ref, readiness.crd_established, deadline=time.monotonic() + 0.3)


def test_service_load_balancer_ingress(emulator: LabEmulator, cluster: kube.Cluster,
                                       pool: ThreadPoolExecutor) -> None:
    svc = o.service("lb", "default")
    svc["spec"]["type"] = "LoadBalancer"
    emulator.create(svc)
    ref = ObjectRef("v1", "Service", "lb", "default")
    with pytest.raises(kerrors.WaitTimeout, match="last status: no load-balancer ingress yet"):
        wait_for(cluster, ref, readiness.service_load_balancer, deadline=time.monotonic() + 0.3)
    fut = in_background(pool, lambda: wait_for(
        cluster, ref, readiness.service_load_balancer, deadline=time.monotonic() + 10))
    emulator.set_status("v1", "Service", "default", "lb", {"loadBalancer": {"ingress": [{"ip": "127.0.0.9"}]}})
    assert fut.result(RESULT_TIMEOUT)["status"]["loadBalancer"]["ingress"][0]["ip"] == "127.0.0.9"


def test_generic_condition_and_partial_match(emulator: LabEmulator, cluster: kube.Cluster,
                                             pool: ThreadPoolExecutor) -> None:
    emulator.create(o.crd())
    emulator.create(o.widget("w", "default"))
    ref = ObjectRef("example.com/v1", "Widget", "w", "default")
    with pytest.raises(kerrors.WaitTimeout, match="last status: no Ready condition"):
        wait_for(cluster, ref, readiness.condition("Ready"), deadline=time.monotonic() + 0.3)
    want = {"spec": {"size": 1}, "status": {"phase": "Done", "items": [{"name": "b"}]}}
    with pytest.raises(kerrors.WaitTimeout, match="last status: status: expected a mapping"):
        wait_for(cluster, ref, readiness.partial(want), deadline=time.monotonic() + 0.3,
                 what="Widget default/w to match")
    cond = in_background(pool, lambda: wait_for(
        cluster, ref, readiness.condition("Ready"), deadline=time.monotonic() + 10))
    emulator.set_status("example.com/v1", "Widget", "default", "w", {
        "conditions": [{"type": "Ready", "status": "False", "reason": "Starting"}]})
    emulator.set_status("example.com/v1", "Widget", "default", "w", {
        "phase": "Done", "items": [{"name": "a", "x": 1}, {"name": "b", "x": 2}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "Done"}]})
    assert cond.result(RESULT_TIMEOUT)["status"]["phase"] == "Done"
    assert wait_for(cluster, ref, readiness.partial(want), deadline=time.monotonic() + 5)


def test_wait_all_waits_for_every_workload(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    objs = [o.deployment("a", "default"), o.deployment("b", "default"), o.configmap("c", "default")]
    for obj in objs:
        emulator.create(obj)
    emulator.auto_ready("Deployment")
    seen: list[Any] = []
    wait_all(cluster, [ObjectRef.of(x) for x in objs], deadline=time.monotonic() + 10, on_event=seen.append)
    assert sorted(e.ref.name for e in seen if type(e).__name__ == "WaitDone") == ["a", "b"]


def test_dropped_watch_resumes_from_the_last_resource_version(
    emulator: LabEmulator, fault_proxy_factory: Callable[..., FaultProxy], pool: ThreadPoolExecutor,
) -> None:
    proxy = fault_proxy_factory(emulator.kubeconfig)
    proxy.add(Hold(), watch=True, nth=1)
    proxy.add(DropWatch(after_events=1), watch=True, nth=1)
    emulator.create(o.deployment("d", "default", replicas=2))
    ref = ObjectRef("apps/v1", "Deployment", "d", "default")
    with kube.connect(proxy.kubeconfig, None) as cluster:
        fut = in_background(pool, lambda: wait_for(  # the Deployment's own watch only
            cluster, ref, readiness.deployment, deadline=time.monotonic() + 10, pods=False))
        proxy.wait_held(timeout=5)
        emulator.set_status("apps/v1", "Deployment", "default", "d", {
            "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1})
        emulator.set_status("apps/v1", "Deployment", "default", "d", {"availableReplicas": 2})
        proxy.release()
        assert readiness.deployment(fut.result(RESULT_TIMEOUT)).done
    watches = [r.target for r in proxy.log if "watch=true" in r.target]
    lists = [r.target for r in proxy.log if "watch=" not in r.target and "/deployments" in r.target]
    assert len(watches) == 2 and len(lists) == 1  # resumed, not relisted
    assert "resourceVersion=" in watches[1] and watches[1] != watches[0]


def test_expired_resource_version_relists(
    emulator: LabEmulator, fault_proxy_factory: Callable[..., FaultProxy], pool: ThreadPoolExecutor,
) -> None:
    proxy = fault_proxy_factory(emulator.kubeconfig)
    proxy.add(Hold(), watch=True, nth=1)
    emulator.create(o.deployment("d", "default"))
    ref = ObjectRef("apps/v1", "Deployment", "d", "default")
    with kube.connect(proxy.kubeconfig, None) as cluster:
        fut = in_background(pool, lambda: wait_for(  # the Deployment's own watch only
            cluster, ref, readiness.deployment, deadline=time.monotonic() + 10, pods=False))
        proxy.wait_held(timeout=5)
        emulator.auto_ready("Deployment", after=0)
        emulator.create(o.configmap("bump", "default"))
        emulator.compact()  # the held watch's resourceVersion is now too old: 410 Gone
        proxy.release()
        assert readiness.deployment(fut.result(RESULT_TIMEOUT)).done
    lists = [r for r in proxy.log if "watch=" not in r.target and "/deployments" in r.target]
    assert len(lists) == 2


def test_wait_all_reports_a_failed_job_without_waiting_for_the_others(
    emulator: LabEmulator, cluster: kube.Cluster, pool: ThreadPoolExecutor,
) -> None:
    emulator.create(o.deployment("slow", "default"))  # never becomes ready: no controller here
    emulator.create(job("j", "default"))
    refs = [ObjectRef("apps/v1", "Deployment", "slow", "default"), ObjectRef("batch/v1", "Job", "j", "default")]
    fut = in_background(pool, lambda: wait_all(cluster, refs, deadline=time.monotonic() + 120))
    emulator.set_status("batch/v1", "Job", "default", "j", {"failed": 1, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "boom"}]})
    with pytest.raises(kerrors.WaitFailed, match="Job default/j: 0/1 succeeded: job failed: boom"):
        fut.result(RESULT_TIMEOUT)  # well before the Deployment's two-minute deadline
