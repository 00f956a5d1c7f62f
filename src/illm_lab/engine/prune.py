"""Removing what an instance no longer renders, and deleting everything it owns.

What belongs to an instance is known two ways, and prune uses both: the ledger's previous runs
(which name objects even if someone removed their labels, or a run was killed right after asking
for them) and the `lab.illm.io/instance` label on live objects (which finds objects a lost ledger
forgot).

Deletion records the intent for every object in one ledger write, then goes in four stages —
custom resources (while the operators that hold finalizers on them still run), every other
object but Namespaces and CRDs, then Namespaces, then CRDs. Within a stage every DELETE is
sent first (a bounded pool of concurrent requests, foreground propagation), and only then is each
object waited for (a watch per object, concurrently), so the stage takes as long as its slowest
object rather than the sum. An object removal is recorded once its stage is confirmed gone, all
within one deadline; one that outlives it is reported with what holds it.

An object inside a Namespace the instance owns goes with its Namespace (ADR 0020): the namespace
controller empties it, and the object counts as removed once its Namespace is confirmed gone (a
GET first tells whether it was still there). What runs pods there is deleted at the very start,
with background propagation and not waited for, so the pods are terminating while the rest is
deleted; and once the Namespace's last pod is gone lab tells the namespace controller (an
annotation), which otherwise looks again only after half the pods' grace period. Waiting for a
foreground delete of each workload first, then for the Namespace, took twice as long on the
tier-3 cluster (docs/benchmarks.md, P8).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from illm_lab.base.errors import ClusterError, LabError
from illm_lab.base.identity import ObjectRef
from illm_lab.base.kinds import is_custom
from illm_lab.engine import holds
from illm_lab.engine.events import Note, ObjectDeleted, OnEngineEvent, PhaseStarted
from illm_lab.engine.inventory import Inventory
from illm_lab.engine.order import Phase
from illm_lab.kube import Cancel, Cluster
from illm_lab.kube import errors as kerrors

DEFAULT_DEADLINE = 120.0
NUDGE = "lab.illm.io/pods-gone"  # set on a Namespace being deleted once its pods are gone


@dataclass
class Removal:
    ref: ObjectRef
    action: str  # deleted | gone | failed
    error: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {**self.ref.as_dict(), "action": self.action}
        if self.error:
            out["error"] = self.error
        return out


class DeleteRecorder(Protocol):
    def intend_delete(self, refs: list[ObjectRef]) -> None: ...

    def deleted(self, removals: list[Removal]) -> None: ...


def phase_of_ref(ref: ObjectRef) -> Phase:
    if ref.kind == "CustomResourceDefinition":
        return Phase.CRDS
    if ref.kind == "Namespace":
        return Phase.NAMESPACES
    return Phase.NAMESPACED if ref.namespace else Phase.CLUSTER


def labelled(
    cluster: Cluster, inventory: Inventory, types: Iterable[tuple[str, str]]
) -> list[ObjectRef]:
    """Live objects of `types` ((apiVersion, kind) pairs) that carry the instance label."""
    found: list[ObjectRef] = []
    for api_version, kind in sorted(set(types)):
        try:
            items = cluster.list(api_version, kind, None, inventory.selector)
        except (kerrors.UnknownKind, kerrors.NotFound):
            continue  # the kind is gone (its CRD deleted): so are its objects
        found += [ObjectRef.of(item) for item in items]
    return found


def stale(
    keep: Iterable[ObjectRef], previous: Iterable[ObjectRef], live: Iterable[ObjectRef]
) -> list[ObjectRef]:
    """Objects of the instance (from the ledger or the labels) that are not to be kept."""
    kept = {r.key for r in keep}
    out: dict[str, ObjectRef] = {}
    for ref in [*previous, *live]:
        if ref.key not in kept:
            out.setdefault(ref.key, ref)
    return sorted(out.values())


# The kinds whose deletion takes pods with it.
POD_OWNERS = frozenset({
    ("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet"),
    ("batch", "Job"), ("batch", "CronJob"), ("", "Pod"), ("", "ReplicationController"),
})


def runs_pods(ref: ObjectRef) -> bool:
    group = ref.api_version.rpartition("/")[0]
    return (group, ref.kind) in POD_OWNERS


def stages(refs: Iterable[ObjectRef]) -> list[tuple[str, list[ObjectRef]]]:
    """`refs` in the order they are deleted: everything but Namespaces and CRDs at once (other
    cluster-scoped objects do not hold namespaced ones), then Namespaces, then CRDs (whose custom
    objects went in the stages before)."""
    groups: dict[str, list[ObjectRef]] = {"objects": [], "namespaces": [], "crds": []}
    for ref in refs:
        phase = phase_of_ref(ref)
        key = {Phase.CRDS: "crds", Phase.NAMESPACES: "namespaces"}.get(phase, "objects")
        groups[key].append(ref)
    return [(name, sorted(items)) for name, items in groups.items() if items]


def delete_all(
    cluster: Cluster,
    refs: Iterable[ObjectRef],
    *,
    deadline: float | None = None,
    workers: int = 8,
    recorder: DeleteRecorder | None = None,
    on_event: OnEngineEvent | None = None,
    role: str = "target",
    force_finalizers: bool = False,
) -> list[Removal]:
    """Delete `refs` (see the module's docstring for the order) and wait until each is gone;
    `deadline` is a `time.monotonic()` value (default: two minutes from now). The intent for all
    of them is recorded before the first request. Raises a ClusterError naming the objects that
    could not be deleted (and what holds each), after trying all of them. `force_finalizers`:
    remove the finalizers of what is still held after a grace (`engine.holds`)."""
    emit = on_event or (lambda _e: None)
    end = deadline if deadline is not None else time.monotonic() + DEFAULT_DEADLINE
    unique = {r.key: r for r in refs}
    removals: list[Removal] = []
    if not unique:
        return removals
    if recorder is not None:
        recorder.intend_delete(sorted(unique.values()))
    one = _Deletion(cluster, end, emit, force_finalizers)
    namespaces = {r.name for r in unique.values() if r.kind == "Namespace" and not r.namespace}
    custom = sorted(r for r in unique.values() if is_custom(r.api_version))
    rest = [r for r in unique.values() if not is_custom(r.api_version)]
    cascaded = sorted(r for r in rest if r.namespace in namespaces)
    direct = [r for r in rest if r.namespace not in namespaces]
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lab-delete") as pool:
        if custom:  # first, while the operators that finalize them still run
            emit(PhaseStarted(role, "delete custom resources", len(custom)))
            done = _send_and_confirm(pool, one, custom, workers)
            if recorder is not None:
                recorder.deleted(done)
            removals += done
        # what goes with its Namespace: was it there? (decided before the Namespace is deleted;
        # its workloads are told to go now, so their pods are already terminating by then)
        with_namespace = list(pool.map(one.start, cascaded))
        for name, items in stages(direct):
            emit(PhaseStarted(role, f"delete {name}", len(items)))
            done = _send_and_confirm(pool, one, items, workers,
                                     settle=sorted(namespaces) if name == "namespaces" else [])
            if name == "namespaces":
                done = _went_with_namespaces(with_namespace, done, emit) + done
            if recorder is not None:
                recorder.deleted(done)
            removals += done
    # the root cause first: an object's own failure before "its namespace remains"
    failed = sorted((r for r in removals if r.action == "failed"),
                    key=lambda r: (r.ref.namespace in namespaces, str(r.ref)))
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise ClusterError(f"could not delete {failed[0].ref}: {failed[0].error}{more}")
    return removals


def _send_and_confirm(pool: ThreadPoolExecutor, one: _Deletion, items: list[ObjectRef],
                      workers: int, settle: list[str] | None = None) -> list[Removal]:
    """Every DELETE first, then every wait (and `one.settle` of each Namespace of `settle`),
    all at once."""
    sent = list(pool.map(one.send, items))
    stop = Cancel()
    # waits hold a thread each while the object lingers: a pool of their own, so the DELETEs
    # above are all out before the first wait starts
    with ThreadPoolExecutor(max_workers=max(1, min(len(sent), 4 * workers)) + len(settle or []),
                            thread_name_prefix="lab-delete-wait") as waits:
        for ns in settle or []:
            waits.submit(one.settle, ns, stop)
        done = list(waits.map(one.confirm, sent))
        stop.set()
    return done


class _Deletion:
    """The requests of one object's removal, each a Removal and never an exception: `present`
    (is it there?), `start` (`present`, or for a workload in a Namespace that goes too, its
    DELETE in the background), `send` (the DELETE), `confirm` (wait until it is gone); and
    `settle`, the hint to the namespace controller."""

    def __init__(self, cluster: Cluster, end: float, emit: OnEngineEvent,
                 force_finalizers: bool = False) -> None:
        self.cluster, self.end, self.emit = cluster, end, emit
        self.force_finalizers = force_finalizers

    def send(self, ref: ObjectRef) -> Removal:
        try:
            existed = self.cluster.delete(
                ref.api_version, ref.kind, ref.name, ref.namespace, wait=False, deadline=self.end
            )
        except (kerrors.UnknownKind, kerrors.NotFound):
            existed = False
        except LabError as exc:
            return Removal(ref, "failed", str(exc))
        return Removal(ref, "deleted" if existed else "gone")

    def start(self, ref: ObjectRef) -> Removal:
        """For an object that goes with its Namespace: is it there? A workload is deleted now,
        its pods in the background, so they terminate while the rest is deleted."""
        if runs_pods(ref):
            try:
                existed = self.cluster.delete(ref.api_version, ref.kind, ref.name, ref.namespace,
                                              wait=False, deadline=self.end,
                                              propagation="Background")
                return Removal(ref, "deleted" if existed else "gone")
            except (kerrors.UnknownKind, kerrors.NotFound):
                return Removal(ref, "gone")
            except LabError:
                pass  # the Namespace's deletion takes it anyway
        return self.present(ref)

    def settle(self, namespace: str, stop: Cancel) -> None:
        """Tell the namespace controller the moment the last pod of a Namespace being deleted
        is gone (ADR 0020).

        While pods remain, the controller looks at the Namespace again only after half the
        longest grace period of its pods (16 s by default), or 5 s after the Namespace changes:
        once they are gone, lab changes it (an annotation). A hint only: without it the
        Namespace goes all the same, later."""
        pods: set[str] = set()
        try:
            for kind, obj in self.cluster.observe_many("v1", "Pod", namespace, deadline=self.end,
                                                       cancel=stop):
                name = str((obj.get("metadata") or {}).get("name"))
                if kind != "DELETED":
                    pods.add(name)
                    continue
                pods.discard(name)
                if not pods:
                    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    self.cluster.merge_patch(ObjectRef("v1", "Namespace", namespace, None),
                                             {"metadata": {"annotations": {NUDGE: stamp}}})
                    return
        except LabError:
            return

    def confirm(self, sent: Removal) -> Removal:
        if sent.action == "deleted":
            ref = sent.ref
            try:
                self._wait(ref)
            except (kerrors.UnknownKind, kerrors.NotFound):
                pass  # the kind itself went (its CRD deleted): so did the object
            except kerrors.WaitTimeout as exc:
                return Removal(ref, "failed", holds.timed_out(exc, self.cluster, ref))
            except LabError as exc:
                return Removal(ref, "failed", str(exc))
        if sent.action != "failed":
            self.emit(ObjectDeleted(sent.ref, sent.action))
        return sent

    def _wait(self, ref: ObjectRef) -> None:
        """Wait until `ref` is gone. Asked to force finalizers, give it `holds.FORCE_GRACE`
        seconds first, then remove what holds it and wait for the rest of the deadline."""
        res = self.cluster.resource(ref.api_version, ref.kind)
        if self.force_finalizers:
            try:
                self.cluster.wait_deleted(
                    res, ref, deadline=min(self.end, time.monotonic() + holds.FORCE_GRACE))
                return
            except kerrors.WaitTimeout as exc:
                for line in holds.let_go(self.cluster, ref, exc.last):
                    self.emit(Note(f"{line} (--force-finalizers)"))
        self.cluster.wait_deleted(res, ref, deadline=self.end)

    def present(self, ref: ObjectRef) -> Removal:
        try:
            there = self.cluster.get(ref.api_version, ref.kind, ref.name, ref.namespace) is not None
        except (kerrors.UnknownKind, kerrors.NotFound):
            there = False
        except LabError as exc:
            return Removal(ref, "failed", str(exc))
        return Removal(ref, "deleted" if there else "gone")


def _went_with_namespaces(
    with_namespace: list[Removal], namespaces_done: list[Removal], emit: OnEngineEvent
) -> list[Removal]:
    """The objects that went with their Namespace: removed when it went, failed (naming why
    the Namespace remains) when it did not."""
    gone = {r.ref.name for r in namespaces_done if r.action != "failed"}
    why = {r.ref.name: r.error for r in namespaces_done if r.action == "failed" and r.error}
    for r in with_namespace:
        if r.action == "failed" or r.ref.namespace not in gone:
            cause = why.get(str(r.ref.namespace))
            r.action, r.error = "failed", r.error or (
                f"its namespace {r.ref.namespace} remains" + (f" ({cause})" if cause else ""))
        else:
            emit(ObjectDeleted(r.ref, r.action))
    return with_namespace
