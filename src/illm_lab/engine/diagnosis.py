"""What a wait knows about a workload's pods: the latest state of each, the events about them.

`wait.py` feeds a `Diagnosis` with every change its watches deliver — the workload, its pods (by
the workload's `spec.selector`), a Deployment's ReplicaSets (which revision is current) and the
namespace's events — and asks it after each change for an `Assessment`: the one-line reason the
workload is not ready yet, whether a pod is in a state that will not recover by waiting (the
rules of `pods.py`), and when a grace now running ends. Nothing here does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from illm_lab.base.identity import ObjectRef
from illm_lab.engine import pods
from illm_lab.engine.pods import EarlyFailure, Finding

Obj = dict[str, Any]

FOLLOWED_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "Pod"})
KEPT_EVENTS = 500  # events remembered per wait (the oldest are forgotten first)
SHOWN_EVENTS = 8  # events in the detail of a failed wait
SHOWN_PODS = 5
REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class Assessment:
    reason: str | None  # why it is not ready yet, one line (None: nothing known beyond the status)
    fatal: bool  # a current pod is in a state that will not recover by waiting
    due: float | None  # when a grace now running ends (time.monotonic()), to look again then


@dataclass(frozen=True)
class _Found:
    finding: Finding  # the most telling of a pod (or the workload's latest Warning event)
    pod: bool
    due: float | None  # the earliest grace of that pod still running


def pod_selector(ref: ObjectRef, workload: Obj | None) -> str | None:
    """The label selector of the workload's pods (None: none, or one that would match all)."""
    if workload is None or ref.kind not in FOLLOWED_KINDS - {"Pod"}:
        return None
    selector = (workload.get("spec") or {}).get("selector") or {}
    terms = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), ",".join(expr.get("values") or [])
        terms.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": str(key), "DoesNotExist": f"!{key}"}.get(str(op), ""))
    if not any(terms) and ref.kind == "Job":
        terms = [f"job-name={ref.name}"]  # a Job whose selector the server has not set
    return ",".join(t for t in terms if t) or None


class Diagnosis:
    """The latest state of one workload's pods and of the events about them."""

    def __init__(
        self, ref: ObjectRef, rules: EarlyFailure | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ref = ref
        self.rules = rules or EarlyFailure()
        self.clock = clock
        self.workload: Obj | None = None
        self.pods: dict[str, Obj] = {}
        self.replicasets: dict[str, Obj] = {}
        self.events: dict[str, Obj] = {}  # by namespace/name of the Event, in arrival order
        self.since: dict[str, dict[str, float]] = {}  # pod name -> graced state -> first seen
        self.not_followed: list[str] = []  # watches that could not run (e.g. RBAC), for the detail

    # -- what the watches deliver --------------------------------------------------------
    def saw_workload(self, obj: Obj | None) -> None:
        self.workload = obj
        if self.ref.kind == "Pod":  # the workload is the pod: no watch of its own
            gone = {"metadata": {"name": self.ref.name}}
            self.saw_pod("DELETED" if obj is None else "MODIFIED", obj or gone)

    def saw_pod(self, change: str, pod: Obj) -> None:
        name = str((pod.get("metadata") or {}).get("name", ""))
        if change == "DELETED":
            self.pods.pop(name, None)
            self.since.pop(name, None)
            return
        self.pods[name] = pod
        now, before = self.clock(), self.since.get(name, {})
        self.since[name] = {key: before.get(key, now) for key in pods.graced_states(pod)}

    def saw_replicaset(self, change: str, rs: Obj) -> None:
        name = str((rs.get("metadata") or {}).get("name", ""))
        if change == "DELETED":
            self.replicasets.pop(name, None)
        else:
            self.replicasets[name] = rs

    def saw_event(self, change: str, event: Obj) -> None:
        meta = event.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        self.events.pop(key, None)
        kept = event.get("type") == "Warning" or event.get("reason") in pods.AUTOSCALER_REASONS
        if change != "DELETED" and kept:
            self.events[key] = event
            if len(self.events) > KEPT_EVENTS:
                del self.events[next(iter(self.events))]

    def could_not_follow(self, what: str, error: BaseException) -> None:
        self.not_followed.append(f"{what}: {pods.clip(error)}")

    # -- what the wait asks --------------------------------------------------------------
    def assess(self) -> Assessment:
        found = self._findings(self.clock())
        if not found:
            return Assessment(None, False, None)
        best = found[0].finding
        others = sum(1 for f in found[1:] if f.pod)
        more = f"; {others} more pod{'s' if others > 1 else ''} not ready" if others else ""
        dues = [f.due for f in found if f.due is not None]
        return Assessment(best.text + more, best.fatal, min(dues) if dues else None)

    def detail(self, status: str) -> str:
        """What `-v` shows under a failed wait: the status, each pod's reason, recent events."""
        lines = [f"last status: {status}"]
        found = [f.finding for f in self._findings(self.clock()) if f.pod]
        if found:
            lines.append(f"pods not ready ({len(found)}):")
            lines += [f"  {f.text}" for f in found[:SHOWN_PODS]]
        events = self._relevant_events()[-SHOWN_EVENTS:]
        if events:
            lines.append("recent events:")
            lines += [f"  {_when(e)} {_about(e)} {e.get('type', '')} {pods.event_line(e)}" for e in events]
        lines += [f"not followed: {what}" for what in self.not_followed]
        return "\n".join(lines)

    # -- inside --------------------------------------------------------------------------
    def _findings(self, now: float) -> list[_Found]:
        """The best finding of each pod that is not ready, plus the workload's own latest
        Warning event; best first."""
        out: list[_Found] = []
        current = self._current_revision()
        for name, pod in sorted(self.pods.items()):
            if pods.is_ready(pod):
                continue
            facts = pods.Facts(
                events=self._events_about("Pod", name, _uid(pod)), since=self.since.get(name, {}),
                now=now, rules=self.rules, job=self.ref.kind == "Job", current=current(pod),
            )
            found = pods.findings(pod, facts)
            dues = [f.due for f in found if f.due is not None]
            out.append(_Found(found[0], True, min(dues) if dues else None))
        own = [e for e in self._workload_events() if e.get("type") == "Warning"]
        if own:
            about = own[-1].get("involvedObject") or {}
            text = f"{about.get('kind')} {about.get('name')}: {pods.event_line(own[-1])}"
            out.append(_Found(Finding(pods.EVENT, text), False, None))
        # The current revision's pods first: theirs is what holds a rollout up.
        return sorted(out, key=lambda f: (f.finding.text.startswith("old "), f.finding.rank, not f.pod))

    def _current_revision(self) -> Callable[[Obj], bool]:
        """Is a pod of the workload's current revision? False while the controller has not
        observed the latest generation (its new pods may not exist yet)."""
        obj = self.workload or {}
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        kind = self.ref.kind
        if kind in ("Job", "Pod"):
            return lambda _pod: True
        generation, observed = meta.get("generation"), status.get("observedGeneration")
        if not obj or (generation is not None and (observed is None or int(observed) < int(generation))):
            return lambda _pod: False
        if kind == "StatefulSet":
            return lambda pod: _label(pod, "controller-revision-hash") == status.get("updateRevision")
        if kind == "DaemonSet":
            return lambda pod: _label(pod, "pod-template-generation") == str(generation)
        newest = self._newest_replicaset(str(meta.get("uid", "")))
        return lambda pod: newest is not None and _owner(pod, "ReplicaSet") == newest

    def _newest_replicaset(self, deployment_uid: str) -> str | None:
        revisions = []
        for rs in self.replicasets.values():
            meta = rs.get("metadata") or {}
            if any(o.get("uid") == deployment_uid for o in meta.get("ownerReferences") or []):
                revisions.append((int((meta.get("annotations") or {}).get(REVISION) or 0), rs))
        if not revisions or max(r for r, _ in revisions) == 0:
            return None  # no revision recorded: cannot tell new pods from old
        return str(max(revisions, key=lambda item: item[0])[1]["metadata"]["name"])

    def _events_about(self, kind: str, name: str, uid: str | None) -> list[Obj]:
        found = []
        for event in self.events.values():
            about = event.get("involvedObject") or {}
            if about.get("kind") != kind or about.get("name") != name:
                continue
            if uid and about.get("uid") and about.get("uid") != uid:
                continue  # about an earlier object of the same name
            found.append(event)
        return sorted(found, key=_when)

    def _workload_events(self) -> list[Obj]:
        found = self._events_about(self.ref.kind, self.ref.name, _uid(self.workload))
        if self.ref.kind == "Deployment":
            newest = self._newest_replicaset(str(_uid(self.workload) or ""))
            if newest is not None:
                found += self._events_about("ReplicaSet", newest, None)
        return sorted(found, key=_when)

    def _relevant_events(self) -> list[Obj]:
        found = self._workload_events() if self.ref.kind != "Pod" else []
        for name, pod in self.pods.items():
            found += self._events_about("Pod", name, _uid(pod))
        return sorted(found, key=_when)


def _uid(obj: Obj | None) -> str | None:
    return ((obj or {}).get("metadata") or {}).get("uid") or None


def _label(obj: Obj, key: str) -> str | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return str(labels[key]) if key in labels else None


def _owner(obj: Obj, kind: str) -> str | None:
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("kind") == kind and owner.get("controller"):
            return str(owner.get("name"))
    return None


def _when(event: Obj) -> str:
    series = event.get("series") or {}
    stamp = (series.get("lastObservedTime") or event.get("lastTimestamp") or event.get("eventTime")
             or (event.get("metadata") or {}).get("creationTimestamp") or "")
    return str(stamp)[:19]  # to the second: lastTimestamp and eventTime differ in precision


def _about(event: Obj) -> str:
    about = event.get("involvedObject") or {}
    return f"{about.get('kind', '?')}/{about.get('name', '?')}"
