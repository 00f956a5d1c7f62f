"""Removing what an instance no longer renders, and deleting everything it owns.

What belongs to an instance is known two ways, and prune uses both: the ledger's previous runs
(which name objects even if someone removed their labels, or a run was killed right after asking
for them) and the `lab.illm.io/instance` label on live objects (which finds objects a lost ledger
forgot). Deletion walks the apply phases backwards — namespaced objects, other cluster-scoped
objects, Namespaces, CRDs — deleting each phase concurrently with foreground propagation and
waiting until each object is really gone before the next phase starts, all within one deadline.
An object already gone is fine; one that outlives the deadline is reported with what holds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from illm_lab.base.errors import ClusterError, LabError
from illm_lab.base.identity import ObjectRef
from illm_lab.engine.events import Event, ObjectDeleted, PhaseStarted
from illm_lab.engine.inventory import Inventory
from illm_lab.engine.order import Phase, deletion_phases
from illm_lab.kube import Cluster
from illm_lab.kube import errors as kerrors

DEFAULT_DEADLINE = 120.0


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


def delete_all(
    cluster: Cluster,
    refs: Iterable[ObjectRef],
    *,
    deadline: float | None = None,
    workers: int = 8,
    recorder: DeleteRecorder | None = None,
    on_event: Callable[[Event], None] | None = None,
    role: str = "target",
) -> list[Removal]:
    """Delete `refs` in reverse apply order, waiting for each to be gone; `deadline` is a
    `time.monotonic()` value (default: two minutes from now). Raises a ClusterError naming the
    objects that could not be deleted, after trying all of them."""
    emit = on_event or (lambda _e: None)
    end = deadline if deadline is not None else time.monotonic() + DEFAULT_DEADLINE
    unique = {r.key: r for r in refs}
    removals: list[Removal] = []

    def one(ref: ObjectRef) -> Removal:
        try:
            existed = cluster.delete(
                ref.api_version, ref.kind, ref.name, ref.namespace, wait=True, deadline=end
            )
        except (kerrors.UnknownKind, kerrors.NotFound):
            existed = False
        except LabError as exc:
            return Removal(ref, "failed", str(exc))
        removal = Removal(ref, "deleted" if existed else "gone")
        emit(ObjectDeleted(ref, removal.action))
        return removal

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lab-delete") as pool:
        for phase, items in deletion_phases(unique.values(), phase_of_ref):
            emit(PhaseStarted(role, f"delete {phase.name.lower()}", len(items)))
            if recorder is not None:
                recorder.intend_delete(items)
            done = list(pool.map(one, items))
            if recorder is not None:
                recorder.deleted(done)
            removals += done
    failed = [r for r in removals if r.action == "failed"]
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise ClusterError(f"could not delete {failed[0].ref}: {failed[0].error}{more}")
    return removals
