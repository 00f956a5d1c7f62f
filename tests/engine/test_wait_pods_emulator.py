"""Tier 2: waits that follow a workload's pods and events, say why it is not ready, and give up
early on states that will not recover by waiting.

The test plays kube-controller-manager and the kubelet: it writes the Deployment's status, its
ReplicaSet, its pods' container states and their Warning events. Waits run in a worker thread
and end when a watch delivers the change — no sleeps anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from illm_lab import kube
from illm_lab.base.identity import ObjectRef
from illm_lab.engine import readiness
from illm_lab.engine.pods import EarlyFailure
from illm_lab.engine.wait import wait_all, wait_for
from illm_lab.kube import errors as kerrors
from tests.engine import objects as o
from tests.support.emulator import LabEmulator

pytestmark = pytest.mark.emulator
RESULT_TIMEOUT = 10.0
NS = "default"
WEB = ObjectRef("apps/v1", "Deployment", "web", NS)
HASH = "7d9f"
NEVER_PULL = 'Container image "lab.local/nope:1" is not present with pull policy of Never'


@pytest.fixture
def cluster(emulator: LabEmulator) -> Iterator[kube.Cluster]:
    with kube.connect(emulator.kubeconfig, "emulator") as c:
        yield c


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as p:
        yield p


def rollout(emulator: LabEmulator, replicas: int = 2, revision: str = "1", rs_hash: str = HASH) -> dict[str, Any]:
    """A Deployment whose controller observed it and created the ReplicaSet of `revision`."""
    dep = emulator.get("apps/v1", "Deployment", NS, "web") or emulator.create(o.deployment("web", NS, replicas))
    emulator.set_status("apps/v1", "Deployment", NS, "web", {
        "observedGeneration": dep["metadata"]["generation"], "replicas": replicas,
        "updatedReplicas": replicas, "availableReplicas": 0})
    emulator.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"web-{rs_hash}", "namespace": NS,
                     "labels": {"app": "web", "pod-template-hash": rs_hash},
                     "annotations": {"deployment.kubernetes.io/revision": revision},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": dep["metadata"]["uid"], "controller": True}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web", "pod-template-hash": rs_hash}},
                 "template": dep["spec"]["template"]},
    })
    return dep


def pod(emulator: LabEmulator, name: str, status: dict[str, Any], rs_hash: str = HASH,
        labels: dict[str, str] | None = None, owner: tuple[str, str] | None = None) -> dict[str, Any]:
    """A pod of the ReplicaSet `web-<rs_hash>` (or of `owner`: kind, name) with `status`."""
    kind, owner_name = owner or ("ReplicaSet", f"web-{rs_hash}")
    created = emulator.create({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS,
                     "labels": labels or {"app": "web", "pod-template-hash": rs_hash},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": kind, "name": owner_name,
                                          "uid": f"uid-{owner_name}", "controller": True}]},
        "spec": {"containers": [{"name": "app", "image": "lab.local/nope:1"}]},
    })
    emulator.set_status("v1", "Pod", NS, name, status)
    return created


def waiting(reason: str, message: str = "", *, restarts: int = 0, last_exit: int | None = None,
            phase: str = "Pending") -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "ready": False, "restartCount": restarts,
                                 "image": "lab.local/nope:1",
                                 "state": {"waiting": {"reason": reason, "message": message}}}
    if last_exit is not None:
        container["lastState"] = {"terminated": {"exitCode": last_exit, "reason": "Error"}}
    return {"phase": phase, "conditions": [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [container]}


def running_not_ready() -> dict[str, Any]:
    return {"phase": "Running", "conditions": [
        {"type": "PodScheduled", "status": "True"},
        {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
         "message": "containers with unready status: [app]"},
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [{"name": "app", "ready": False, "restartCount": 0,
                               "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}


def unschedulable(message: str) -> dict[str, Any]:
    return {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]}


def event(emulator: LabEmulator, about: dict[str, Any], reason: str, message: str, *,
          type_: str = "Warning", count: int = 1, name: str | None = None) -> None:
    meta = about["metadata"]
    emulator.create({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name or f"{meta['name']}.{reason.lower()}", "namespace": NS},
        "involvedObject": {"apiVersion": about["apiVersion"], "kind": about["kind"], "name": meta["name"],
                           "namespace": NS, "uid": meta["uid"]},
        "reason": reason, "message": message, "type": type_, "count": count,
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:01Z",
    })


def wait_web(cluster: kube.Cluster, seconds: float, **kwargs: Any) -> dict[str, Any] | None:
    return wait_for(cluster, WEB, readiness.deployment, deadline=time.monotonic() + seconds, **kwargs)


def background(pool: ThreadPoolExecutor, cluster: kube.Cluster, seconds: float, **kwargs: Any) -> Future[Any]:
    return pool.submit(wait_web, cluster, seconds, **kwargs)


def test_err_image_never_pull_fails_within_a_second(
    emulator: LabEmulator, cluster: kube.Cluster, pool: ThreadPoolExecutor,
) -> None:
    rollout(emulator, replicas=2)
    fut = background(pool, cluster, 60)
    pod(emulator, "web-7d9f-x1", waiting("ErrImageNeverPull", NEVER_PULL))
    seen = time.monotonic()
    with pytest.raises(kerrors.WaitFailed) as caught:
        fut.result(RESULT_TIMEOUT)
    assert time.monotonic() - seen < 1.0
    assert str(caught.value) == (
        f"Deployment default/web: 0/2 ready: pod web-7d9f-x1 container app: ErrImageNeverPull ({NEVER_PULL}); "
        "this will not recover by waiting")
    assert "pods not ready (1):" in (caught.value.detail or "")


def test_image_pull_backoff_fails_once_the_grace_is_over(
    emulator: LabEmulator, cluster: kube.Cluster, pool: ThreadPoolExecutor,
) -> None:
    rollout(emulator, replicas=1)
    created = pod(emulator, "web-7d9f-x1", waiting("ImagePullBackOff", 'Back-off pulling image "lab.local/nope:1"'))
    event(emulator, created, "Failed", 'Failed to pull image "lab.local/nope:1": not found')
    with pytest.raises(kerrors.WaitTimeout, match="ImagePullBackOff") as slow:  # the default grace: 30 s
        wait_web(cluster, 0.5)
    assert "timed out after" in str(slow.value)
    started = time.monotonic()
    with pytest.raises(kerrors.WaitFailed) as caught:
        wait_web(cluster, 60, early=EarlyFailure(image_pull_grace=0.3))
    assert 0.3 <= time.monotonic() - started < 3.0  # woken by the grace's end, not by an event
    assert str(caught.value).startswith(
        'Deployment default/web: 0/1 ready: pod web-7d9f-x1 container app: ImagePullBackOff '
        '(Failed to pull image "lab.local/nope:1": not found), for 0s; this will not recover by waiting')


def test_repeated_pull_back_offs_fail_without_waiting_out_the_grace(
    emulator: LabEmulator, cluster: kube.Cluster,
) -> None:
    rollout(emulator, replicas=1)
    created = pod(emulator, "web-7d9f-x1", waiting("ImagePullBackOff", 'Back-off pulling image "x"'))
    event(emulator, created, "BackOff", 'Back-off pulling image "lab.local/nope:1"', count=3)
    started = time.monotonic()
    with pytest.raises(kerrors.WaitFailed, match=r"ImagePullBackOff .*3 back-offs; this will not recover"):
        wait_web(cluster, 60)
    assert time.monotonic() - started < 1.0


def test_crash_loop_past_the_limit_fails_early(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    rollout(emulator, replicas=1)
    pod(emulator, "web-7d9f-x1", waiting("CrashLoopBackOff", "back-off 5m0s restarting failed container",
                                          restarts=5, last_exit=1, phase="Running"))
    started = time.monotonic()
    with pytest.raises(kerrors.WaitFailed) as caught:
        wait_web(cluster, 60)
    assert time.monotonic() - started < 1.0
    assert str(caught.value) == (
        "Deployment default/web: 0/1 ready: pod web-7d9f-x1 container app: CrashLoopBackOff after 5 restarts, "
        "last exit code 1 (Error); this will not recover by waiting")


def test_an_old_revision_crashing_while_a_fixed_rollout_replaces_it_does_not_end_the_wait(
    emulator: LabEmulator, cluster: kube.Cluster,
) -> None:
    rollout(emulator, replicas=1, revision="1", rs_hash="old1")
    rollout(emulator, replicas=1, revision="2", rs_hash="new2")
    pod(emulator, "web-old1-a", waiting("CrashLoopBackOff", restarts=7, last_exit=2, phase="Running"), rs_hash="old1")
    pod(emulator, "web-new2-b", waiting("ContainerCreating"), rs_hash="new2")
    with pytest.raises(kerrors.WaitTimeout) as caught:
        wait_web(cluster, 0.5)
    message = str(caught.value)
    assert "pod web-new2-b container app: ContainerCreating; 1 more pod not ready; timed out" in message
    assert "old pod web-old1-a container app: CrashLoopBackOff after 7 restarts" in (caught.value.detail or "")


def test_create_container_config_error_fails_after_its_grace(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    rollout(emulator, replicas=1)
    pod(emulator, "web-7d9f-x1", waiting("CreateContainerConfigError", 'secret "db" not found'))
    with pytest.raises(kerrors.WaitFailed, match=r'CreateContainerConfigError \(secret "db" not found\)'):
        wait_web(cluster, 60, early=EarlyFailure(config_error_grace=0.2))


def test_unschedulable_pod_gives_the_scheduler_message(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    rollout(emulator, replicas=1)
    scheduler = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available."
    created = pod(emulator, "web-7d9f-x1", unschedulable(scheduler))
    with pytest.raises(kerrors.WaitFailed) as caught:
        wait_web(cluster, 60, early=EarlyFailure(unschedulable_grace=0.2))
    assert str(caught.value).startswith(
        f"Deployment default/web: 0/1 ready: pod web-7d9f-x1: Unschedulable: {scheduler}, for 0s")
    assert str(caught.value).endswith("this will not recover by waiting")
    event(emulator, created, "TriggeredScaleUp", "pod triggered scale-up: [{pool 1->2 (max: 5)}]", type_="Normal")
    with pytest.raises(kerrors.WaitTimeout, match="capacity is being added"):  # an autoscaler is on it
        wait_web(cluster, 0.5, early=EarlyFailure(unschedulable_grace=0.1))


def test_readiness_probe_warning_is_in_the_timeout_message(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    rollout(emulator, replicas=1)
    created = pod(emulator, "web-7d9f-x1", running_not_ready())
    event(emulator, created, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
          count=4)
    with pytest.raises(kerrors.WaitTimeout) as caught:
        wait_web(cluster, 0.5)
    assert str(caught.value).startswith(
        "Deployment default/web: 0/1 ready: pod web-7d9f-x1: Unhealthy: Readiness probe failed: "
        "HTTP probe failed with statuscode: 503 (4 times); timed out after 0.5s waiting for rollout")
    detail = caught.value.detail or ""
    assert "last status: 0/1 available, 1 updated" in detail
    assert "Pod/web-7d9f-x1 Warning Unhealthy: Readiness probe failed" in detail


def test_events_of_an_earlier_pod_of_the_same_name_are_not_reasons(
    emulator: LabEmulator, cluster: kube.Cluster,
) -> None:
    rollout(emulator, replicas=1)
    created = pod(emulator, "web-7d9f-x1", running_not_ready())
    event(emulator, {**created, "metadata": {**created["metadata"], "uid": "an-earlier-pod"}},
          "Unhealthy", "Readiness probe failed: from an hour ago")
    with pytest.raises(kerrors.WaitTimeout) as caught:
        wait_web(cluster, 0.3)
    assert "from an hour ago" not in str(caught.value)
    assert "pod web-7d9f-x1: containers with unready status: [app]" in str(caught.value)


def test_a_healthy_rollout_still_succeeds_and_follows_its_pods(
    emulator: LabEmulator, cluster: kube.Cluster, pool: ThreadPoolExecutor,
) -> None:
    rollout(emulator, replicas=1)
    created = pod(emulator, "web-7d9f-x1", waiting("ContainerCreating"))
    event(emulator, created, "Unhealthy", "Readiness probe failed: connection refused")
    fut = background(pool, cluster, 10)
    emulator.auto_ready(["Deployment", "Pod"])
    ready = fut.result(RESULT_TIMEOUT)
    assert readiness.deployment(ready).done
    pod_watches = [r for r in emulator.requests if r.is_watch and r.path.endswith("/pods")]
    assert pod_watches and pod_watches[0].query.get("labelSelector") == "app=web"


def test_a_job_pod_that_can_never_pull_fails_the_job_wait(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    job = emulator.create({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": NS},
        "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                 "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "u1"}},
                              "spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "x"}]}}}})
    pod(emulator, "migrate-abcde", waiting("InvalidImageName", 'Failed to apply default image tag "x:"'),
        labels={"batch.kubernetes.io/controller-uid": "u1"}, owner=("Job", "migrate"))
    ref = ObjectRef.of(job)
    with pytest.raises(kerrors.WaitFailed, match=r"^Job default/migrate: 0/1 succeeded: pod migrate-abcde "
                                                 r"container app: InvalidImageName"):
        wait_for(cluster, ref, readiness.job_complete, deadline=time.monotonic() + 60)


def test_wait_all_ends_every_wait_when_one_pod_cannot_start(
    emulator: LabEmulator, cluster: kube.Cluster,
) -> None:
    emulator.create(o.deployment("slow", NS))  # never becomes ready: no controller here
    rollout(emulator, replicas=1)
    pod(emulator, "web-7d9f-x1", waiting("ErrImageNeverPull", NEVER_PULL))
    started = time.monotonic()
    with pytest.raises(kerrors.WaitFailed, match="ErrImageNeverPull"):
        wait_all(cluster, [ObjectRef("apps/v1", "Deployment", "slow", NS), WEB],
                 deadline=time.monotonic() + 120)
    assert time.monotonic() - started < 2.0


def test_a_bare_pod_in_a_crash_loop_fails_its_wait(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    emulator.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tool", "namespace": NS},
                     "spec": {"containers": [{"name": "app", "image": "x"}]}})
    emulator.set_status("v1", "Pod", NS, "tool", waiting("CrashLoopBackOff", restarts=3, last_exit=127,
                                                          phase="Running"))
    with pytest.raises(kerrors.WaitFailed, match=r"^Pod default/tool: 0/1 ready: pod tool container app: "
                                                 r"CrashLoopBackOff after 3 restarts, last exit code 127"):
        wait_for(cluster, ObjectRef("v1", "Pod", "tool", NS), readiness.pod_ready, deadline=time.monotonic() + 60)


def test_statefulset_pods_of_the_update_revision_are_judged(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    sts = o.deployment("db", NS)
    sts["kind"], sts["spec"]["serviceName"] = "StatefulSet", "db"
    emulator.create(sts)
    emulator.set_status("apps/v1", "StatefulSet", NS, "db", {
        "observedGeneration": 1, "replicas": 1, "readyReplicas": 0, "updateRevision": "db-new",
        "currentRevision": "db-old"})
    pod(emulator, "db-0", waiting("ErrImageNeverPull", NEVER_PULL),
        labels={"app": "db", "controller-revision-hash": "db-old"}, owner=("StatefulSet", "db"))
    ref = ObjectRef("apps/v1", "StatefulSet", "db", NS)
    with pytest.raises(kerrors.WaitTimeout, match="old pod db-0 container app: ErrImageNeverPull"):
        wait_for(cluster, ref, readiness.statefulset, deadline=time.monotonic() + 0.3)
    emulator.patch_object("v1", "Pod", NS, "db-0", {"metadata": {"labels": {"controller-revision-hash": "db-new"}}})
    with pytest.raises(kerrors.WaitFailed, match=r"^StatefulSet default/db: 0/1 ready: pod db-0 container app: "
                                                 r"ErrImageNeverPull"):
        wait_for(cluster, ref, readiness.statefulset, deadline=time.monotonic() + 60)
