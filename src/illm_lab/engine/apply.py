"""Server-side apply of a set of objects: ordered, concurrent, and silent when nothing changed.

First the engine reads the live state: discovery for each group-version and one LIST per
resource type, filtered by the instance label, all concurrently (one request per type instead of
one GET per object; per namespace where a cluster-wide list is forbidden). Then, per phase (see
`order.py`), it

1. skips every object whose applied-hash annotation equals the new configuration's hash and whose
   applied fields are unchanged in the live object (`drift.py`) — an unchanged re-apply sends no
   write at all, while a change made by someone else is still corrected;
2. records its intent for the rest in the ledger (one durable write for the phase), then applies
   them concurrently (a bounded thread pool over the one shared connection pool) with field
   manager `illm-lab`, and records the results (one more write).

Drift is corrected by re-applying with `force`: the configuration is the one lab applied last
time (its hash is on the object), so forcing only takes back fields lab owned before someone else
changed them. A changed configuration is applied without `force` unless `--force-conflicts`, so a
field another manager owns is never taken silently: that is a 409.

A 409 (conflict with another field manager) or a 422 (invalid object) stops the run at once with
the server's message and the object's identity: no further applies are started, those in flight
finish and are recorded. Transient faults are retried inside the transport. CRDs are waited for
until Established before anything that may use them. See adrs/0002. Kinds no CRD of the batch
defines and the server does not serve yet are waited for only for the components given an
`Expectation` (a dependency may install them at run time: `arrivals.py`, adrs/0021); for any
other component such a kind is an error at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from illm_lab.base import kinds
from illm_lab.base.errors import ClusterError, LabError
from illm_lab.base.identity import ObjectRef
from illm_lab.engine import arrivals, drift, readiness
from illm_lab.engine.events import ObjectApplied, OnEngineEvent, PhaseStarted
from illm_lab.engine.inventory import Inventory, applied_hash, stamp
from illm_lab.engine.order import Phase, phase_of, phased
from illm_lab.engine.wait import wait_for
from illm_lab.kube import Cluster, Resource
from illm_lab.kube import errors as kerrors

DEFAULT_WORKERS = 16
CRD_TIMEOUT = 60.0


@dataclass
class Desired:
    """One object to apply: stamped with inventory labels and its config hash."""

    obj: dict[str, Any]
    component: str
    ref: ObjectRef
    hash: str


@dataclass
class ObjectOutcome:
    ref: ObjectRef
    component: str
    action: str  # created | configured | unchanged | failed | skipped
    hash: str
    live_hash: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.ref.as_dict(), "component": self.component,
                               "action": self.action, "hash": self.hash}
        for key in ("live_hash", "uid", "resource_version", "error"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


class ApplyJournal(Protocol):
    """Where intent and results go (the ledger's run implements it)."""

    def intend(self, desired: list[Desired]) -> None: ...

    def applied(self, outcomes: list[ObjectOutcome]) -> None: ...


@dataclass
class ApplyReport:
    outcomes: list[ObjectOutcome] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.action] = out.get(o.action, 0) + 1
        return out


def plan(
    components: Iterable[tuple[str, list[dict[str, Any]]]], inventory: Inventory
) -> list[Desired]:
    """Stamp every object of every (component, objects) pair; namespaced objects without a
    namespace go to `default` (as kubectl does)."""
    pairs = [(comp, obj) for comp, objs in components for obj in objs]
    crds = kinds.crd_scopes([obj for _, obj in pairs])
    out: list[Desired] = []
    for comp, obj in pairs:
        meta = obj.get("metadata") or {}
        if not meta.get("namespace") and kinds.is_namespaced(obj, crds):
            obj = {**obj, "metadata": {**meta, "namespace": "default"}}
        stamped = stamp(obj, inventory, comp)
        hash_ = str(stamped["metadata"]["annotations"]["lab.illm.io/applied-hash"])
        out.append(Desired(stamped, comp, ObjectRef.of(stamped), hash_))
    return out


class Applier:
    def __init__(
        self,
        cluster: Cluster,
        inventory: Inventory,
        *,
        force_conflicts: bool = False,
        workers: int = DEFAULT_WORKERS,
        previous: Mapping[str, str] | None = None,
        recorder: ApplyJournal | None = None,
        on_event: OnEngineEvent | None = None,
        role: str = "target",
        crd_timeout: float = CRD_TIMEOUT,
        expected: Mapping[str, arrivals.Expectation] | None = None,
    ) -> None:
        self.cluster = cluster
        self.inventory = inventory
        self.force = force_conflicts
        self.workers = max(1, workers)
        self.previous = previous or {}  # ObjectRef.key -> live_hash recorded after the last apply
        self.recorder = recorder
        self.emit = on_event or (lambda _e: None)
        self.role = role
        self.crd_timeout = crd_timeout
        self.expected = expected or {}  # component -> may wait for kinds served at run time

    # -- public -------------------------------------------------------------------------
    def apply(self, desired: list[Desired]) -> ApplyReport:
        report = ApplyReport()
        if not desired:
            return report
        crds = kinds.crd_scopes([d.obj for d in desired])
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lab-apply") as pool:
            call = _Call(pool)
            try:
                self._phases(call, desired, crds, report)
            except BaseException:
                call.stop.set()  # queued applies return at once; only those in flight finish
                raise
        report.requests = dict(self.cluster.transport.counts)
        return report

    def _phases(
        self, call: _Call, desired: list[Desired], crds: dict[tuple[str, str], bool],
        report: ApplyReport,
    ) -> None:
        self._prefetch(call, desired, crds)
        self._await_arrivals(desired, crds)
        groups = phased(desired, lambda d: phase_of(d.obj, kinds.is_namespaced(d.obj, crds)))
        groups = self._refine_phases(groups, crds)
        for phase, items in groups:
            self.emit(PhaseStarted(self.role, phase.name.lower(), len(items)))
            outcomes = self._apply_phase(call, items)
            report.outcomes.extend(outcomes)
            failed = next((o for o in outcomes if o.action == "failed"), None)
            if failed is not None:
                raise call.first_error  # recorded already; surfaced at once
            if phase is Phase.CRDS:
                self._wait_established(call, items)

    # -- phases -------------------------------------------------------------------------
    def _prefetch(
        self, call: _Call, desired: list[Desired], crds: dict[tuple[str, str], bool]
    ) -> None:
        """Discovery for every group-version, then the live LIST of every resource type, all at
        once and concurrently — so later phases find their live state already read. Kinds whose
        CRD is in this batch are left for their phase (they do not exist yet)."""
        known = [d for d in desired if (d.ref.group, d.ref.kind) not in crds]
        first: dict[str, Desired] = {}
        for d in known:
            first.setdefault(d.ref.api_version, d)

        def resolve(d: Desired) -> Resource | None:
            try:
                return self.cluster.resource(d.ref.api_version, d.ref.kind)
            except kerrors.UnknownKind:
                return None  # reported, naming the object, when its phase comes

        list(call.pool.map(resolve, first.values()))
        namespaces: dict[Resource, set[str | None]] = {}
        for d in known:
            res = resolve(d)
            if res is not None:
                namespaces.setdefault(res, set()).add(d.ref.namespace if res.namespaced else None)
        for res, nss in namespaces.items():
            call.live_cache[res] = call.pool.submit(self._fetch_live, res, nss)

    def _await_arrivals(self, desired: list[Desired], crds: dict[tuple[str, str], bool]) -> None:
        """Wait for the kinds not served yet of the components that expect them (see
        `arrivals.py`); other components' unserved kinds are reported when their phase comes."""
        wanted = sorted({(d.component, d.ref.api_version, d.ref.kind) for d in desired
                         if d.component in self.expected and (d.ref.group, d.ref.kind) not in crds})
        served: dict[arrivals.Kind, bool] = {}
        missing: dict[str, set[arrivals.Kind]] = {}
        for component, api_version, kind in wanted:
            if (api_version, kind) not in served:
                try:
                    served[(api_version, kind)] = bool(self.cluster.resource(api_version, kind))
                except kerrors.UnknownKind:
                    served[(api_version, kind)] = False
            if not served[(api_version, kind)]:
                missing.setdefault(component, set()).add((api_version, kind))
        if missing:
            arrivals.await_served(self.cluster, missing, self.expected, on_event=self.emit)

    def _refine_phases(
        self, groups: list[tuple[Phase, list[Desired]]], crds: dict[tuple[str, str], bool]
    ) -> list[tuple[Phase, list[Desired]]]:
        """Objects whose scope is unknown offline are placed by asking discovery."""
        out: dict[Phase, list[Desired]] = {}
        for phase, items in groups:
            for d in items:
                real = phase
                if kinds.is_namespaced(d.obj, crds) is None and phase is Phase.CLUSTER:
                    res = self._resource(d)
                    real = Phase.NAMESPACED if res.namespaced else Phase.CLUSTER
                    if res.namespaced and not d.ref.namespace:
                        d.obj["metadata"]["namespace"] = "default"
                        d.ref = ObjectRef.of(d.obj)
                out.setdefault(real, []).append(d)
        return [(p, out[p]) for p in sorted(out)]

    def _resource(self, d: Desired) -> Resource:
        try:
            return self.cluster.resource(d.ref.api_version, d.ref.kind)
        except kerrors.UnknownKind as exc:
            raise kerrors.UnknownKind(f"{d.ref} ({d.component}): {exc.message}") from None

    def _apply_phase(self, call: _Call, items: list[Desired]) -> list[ObjectOutcome]:
        resources = {id(d): self._resource(d) for d in items}
        live = self._live(call, items, resources)
        outcomes: list[ObjectOutcome] = []
        todo: list[Desired] = []
        reclaim: set[int] = set()  # drifted objects whose applied config lab owned unchanged
        for d in items:
            current = live.get(d.ref.key)
            if current is not None and self._unchanged(d, current):
                outcome = _outcome(d, "unchanged", current)
                outcomes.append(outcome)
                self.emit(ObjectApplied(d.ref, "unchanged"))
                continue
            if current is not None and applied_hash(current) == d.hash:
                reclaim.add(id(d))
            todo.append(d)
        if self.recorder is not None and todo:
            self.recorder.intend(todo)
        stop = call.stop
        lock = threading.Lock()

        def one(d: Desired) -> ObjectOutcome:
            if stop.is_set():
                return ObjectOutcome(d.ref, d.component, "skipped", d.hash)
            try:
                force = self.force or id(d) in reclaim
                obj, created = self.cluster.apply_to(resources[id(d)], d.obj, force=force)
            except LabError as exc:
                with lock:
                    if not stop.is_set():
                        stop.set()
                        call.first_error = exc
                return ObjectOutcome(d.ref, d.component, "failed", d.hash, error=str(exc))
            action = "created" if created else "configured"
            self.emit(ObjectApplied(d.ref, action))
            return _outcome(d, action, obj)

        futures: list[Future[ObjectOutcome]] = [call.pool.submit(one, d) for d in todo]
        applied = [f.result() for f in futures]
        outcomes.extend(applied)
        if self.recorder is not None and outcomes:
            self.recorder.applied(outcomes)
        return outcomes

    def _unchanged(self, d: Desired, live: dict[str, Any]) -> bool:
        if applied_hash(live) != d.hash:
            return False
        if drift.matches(d.obj, live):
            return True
        known = self.previous.get(d.ref.key)
        return known is not None and known == drift.projection_hash(live, d.obj)

    def _live(
        self, call: _Call, items: list[Desired], resources: dict[int, Resource]
    ) -> dict[str, dict[str, Any]]:
        """The live objects of this instance among `items`' types, by ObjectRef.key."""
        by_type: dict[Resource, set[str | None]] = {}
        for d in items:
            res = resources[id(d)]
            by_type.setdefault(res, set()).add(d.ref.namespace if res.namespaced else None)
        for res, nss in by_type.items():
            if res not in call.live_cache:
                call.live_cache[res] = call.pool.submit(self._fetch_live, res, nss)
        out: dict[str, dict[str, Any]] = {}
        for res in by_type:
            for obj in call.live_cache[res].result():
                out[ObjectRef.of(obj).key] = obj
        return out

    def _fetch_live(self, res: Resource, namespaces: set[str | None]) -> list[dict[str, Any]]:
        """Objects of `res` with the instance label: one cluster-wide LIST, or one per namespace
        where listing across namespaces is forbidden."""
        try:
            return self.cluster.list(res.api_version, res.kind, None, self.inventory.selector)
        except kerrors.Forbidden:
            if not res.namespaced:
                raise
        found: list[dict[str, Any]] = []
        for ns in sorted(n for n in namespaces if n):
            try:
                found += self.cluster.list(res.api_version, res.kind, ns, self.inventory.selector)
            except kerrors.NotFound:
                continue
        return found

    def _wait_established(self, call: _Call, items: list[Desired]) -> None:
        deadline = time.monotonic() + self.crd_timeout
        futures = [
            call.pool.submit(wait_for, self.cluster, d.ref, readiness.crd_established, deadline=deadline)
            for d in items
        ]
        for fut in futures:
            fut.result()
        for d in items:
            spec = d.obj.get("spec") or {}
            for version in spec.get("versions") or []:
                self.cluster.discovery.invalidate(f"{spec.get('group')}/{version.get('name')}")


@dataclass
class _Call:
    """The state of one `Applier.apply` call: an Applier is reused across waves and hook phases,
    so nothing of a call may outlive it on the Applier itself."""

    pool: ThreadPoolExecutor
    stop: threading.Event = field(default_factory=threading.Event)
    first_error: LabError = field(default_factory=lambda: ClusterError("apply failed"))
    live_cache: dict[Resource, Future[list[dict[str, Any]]]] = field(default_factory=dict)


def _outcome(d: Desired, action: str, live: dict[str, Any]) -> ObjectOutcome:
    meta = live.get("metadata") or {}
    return ObjectOutcome(
        ref=d.ref, component=d.component, action=action, hash=d.hash,
        live_hash=drift.projection_hash(live, d.obj), uid=meta.get("uid"),
        resource_version=meta.get("resourceVersion"),
    )
