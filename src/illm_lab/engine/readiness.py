"""When is an object ready? Pure functions from an object (or None: absent) to a verdict.

The rules follow `kubectl rollout status` for workloads (the controller must have observed the
latest generation before replica counts mean anything), and the conditions the API defines for
the rest. A verdict can also say *failed*: a Job with a `Failed` condition or a Deployment past its
progress deadline will not become ready by waiting, so the wait ends at once with that reason.
Each verdict carries a one-line status, so a timeout can say what it saw last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    done: bool
    status: str
    failed: str | None = None


Condition = Callable[[Obj | None], Verdict]
ABSENT = Verdict(False, "not found")


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def _conditions(obj: Obj) -> dict[str, Obj]:
    return {str(c.get("type")): c for c in _status(obj).get("conditions") or [] if isinstance(c, dict)}


def _observed(obj: Obj) -> bool:
    gen = (obj.get("metadata") or {}).get("generation")
    seen = _status(obj).get("observedGeneration")
    return gen is None or (seen is not None and int(seen) >= int(gen))


def deployment(obj: Obj | None) -> Verdict:
    if obj is None:
        return ABSENT
    spec, st = obj.get("spec") or {}, _status(obj)
    want = int(spec.get("replicas", 1))
    updated, total = int(st.get("updatedReplicas", 0)), int(st.get("replicas", 0))
    available = int(st.get("availableReplicas", 0))
    status = f"{available}/{want} available, {updated} updated"
    conds = _conditions(obj)
    failure = conds.get("ReplicaFailure") or {}
    if failure.get("status") == "True":  # e.g. pods forbidden by PodSecurity or a quota
        status += f", {failure.get('reason') or 'ReplicaFailure'}: {failure.get('message', '')}"
    progressing = conds.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return Verdict(False, status, f"progress deadline exceeded: {progressing.get('message', '')}")
    if not _observed(obj):
        return Verdict(False, f"{status} (generation not yet observed)")
    if updated < want:
        return Verdict(False, status)
    if total > updated:
        return Verdict(False, f"{status}, {total - updated} old replicas pending termination")
    return Verdict(available >= updated, status)


def statefulset(obj: Obj | None) -> Verdict:
    if obj is None:
        return ABSENT
    spec, st = obj.get("spec") or {}, _status(obj)
    want = int(spec.get("replicas", 1))
    ready, updated = int(st.get("readyReplicas", 0)), int(st.get("updatedReplicas", 0))
    status = f"{ready}/{want} ready, {updated} updated"
    if not _observed(obj):
        return Verdict(False, f"{status} (generation not yet observed)")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return Verdict(ready >= want, status)
    partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
    if partition > 0:
        return Verdict(ready >= want and updated >= want - partition, status)
    same_revision = st.get("updateRevision") == st.get("currentRevision")
    return Verdict(ready >= want and updated >= want and same_revision, status)


def daemonset(obj: Obj | None) -> Verdict:
    if obj is None:
        return ABSENT
    st = _status(obj)
    desired = int(st.get("desiredNumberScheduled", 0))
    updated, available = int(st.get("updatedNumberScheduled", 0)), int(st.get("numberAvailable", 0))
    status = f"{available}/{desired} available, {updated} updated"
    if not _observed(obj):
        return Verdict(False, f"{status} (generation not yet observed)")
    return Verdict(updated >= desired and available >= desired, status)


def job_complete(obj: Obj | None) -> Verdict:
    if obj is None:
        return ABSENT
    conds = _conditions(obj)
    st = _status(obj)
    status = f"{st.get('succeeded', 0)} succeeded, {st.get('failed', 0)} failed, {st.get('active', 0)} active"
    failed = conds.get("Failed") or {}
    if failed.get("status") == "True":
        why = failed.get("message") or failed.get("reason") or "failed"
        return Verdict(False, status, f"job failed: {why}")
    return Verdict((conds.get("Complete") or {}).get("status") == "True", status)


def pod_ready(obj: Obj | None) -> Verdict:
    if obj is None:
        return ABSENT
    phase = _status(obj).get("phase", "Pending")
    ready = (_conditions(obj).get("Ready") or {}).get("status") == "True"
    waiting = [
        f"{c.get('name')}: {(c.get('state') or {}).get('waiting', {}).get('reason')}"
        for c in _status(obj).get("containerStatuses") or []
        if (c.get("state") or {}).get("waiting")
    ]
    status = f"phase {phase}" + (f", waiting ({'; '.join(waiting)})" if waiting else "")
    if phase == "Failed":
        return Verdict(False, status, f"pod failed: {_status(obj).get('reason') or 'see its events'}")
    if phase == "Succeeded":
        return Verdict(False, status, "pod completed and will never be ready")
    return Verdict(ready, status + (", Ready" if ready else ", not Ready"))


def crd_established(obj: Obj | None) -> Verdict:
    if obj is None:
        return ABSENT
    conds = _conditions(obj)
    names = conds.get("NamesAccepted") or {}
    if names.get("status") == "False":
        return Verdict(False, "names not accepted", f"names not accepted: {names.get('message', '')}")
    established = (conds.get("Established") or {}).get("status") == "True"
    return Verdict(established, "Established" if established else "not Established")


def namespace_active(obj: Obj | None) -> Verdict:
    if obj is None:
        return ABSENT
    phase = _status(obj).get("phase")
    return Verdict(phase == "Active", f"phase {phase or 'unknown'}")


def service_load_balancer(obj: Obj | None) -> Verdict:
    if obj is None:
        return ABSENT
    ingress = ((_status(obj).get("loadBalancer") or {}).get("ingress")) or []
    addresses = [str(i.get("ip") or i.get("hostname")) for i in ingress if isinstance(i, dict)]
    if addresses:
        return Verdict(True, f"load balancer {', '.join(addresses)}")
    return Verdict(False, "no load-balancer ingress yet")


def condition(type_: str, status: str = "True") -> Condition:
    """A generic `status.conditions` check: condition `type_` has `status`."""

    def check(obj: Obj | None) -> Verdict:
        if obj is None:
            return ABSENT
        cond = _conditions(obj).get(type_)
        if cond is None:
            return Verdict(False, f"no {type_} condition")
        seen = f"{type_}={cond.get('status')}" + (f" ({cond.get('reason')})" if cond.get("reason") else "")
        return Verdict(cond.get("status") == status, seen)

    return check


def partial(expected: Obj) -> Condition:
    """The object holds `expected` as a partial tree (maps by key, lists item by item anywhere)."""

    def check(obj: Obj | None) -> Verdict:
        if obj is None:
            return ABSENT
        mismatch = first_mismatch(expected, obj, "")
        return Verdict(mismatch is None, "matches" if mismatch is None else mismatch)

    return check


def first_mismatch(want: Any, have: Any, path: str) -> str | None:
    """Where `have` does not contain `want`, as `path: expected X, got Y` (None if it does)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return f"{path or '.'}: expected a mapping, got {_short(have)}"
        for key, value in want.items():
            found = first_mismatch(value, have.get(key), f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(want, list):
        if not isinstance(have, list):
            return f"{path}: expected a list, got {_short(have)}"
        for i, item in enumerate(want):
            if not any(first_mismatch(item, h, path) is None for h in have):
                return f"{path}[{i}]: no item matches {_short(item)}"
        return None
    if want == have:
        return None
    return f"{path}: expected {_short(want)}, got {_short(have)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def absent(obj: Obj | None) -> Verdict:
    if obj is None:
        return Verdict(True, "gone")
    deleting = (obj.get("metadata") or {}).get("deletionTimestamp")
    return Verdict(False, "being deleted" if deleting else "present")


_BY_KIND: dict[str, Condition] = {
    "Deployment": deployment,
    "StatefulSet": statefulset,
    "DaemonSet": daemonset,
    "Job": job_complete,
    "Pod": pod_ready,
    "CustomResourceDefinition": crd_established,
    "Namespace": namespace_active,
}

NEEDS_WAIT = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "Pod"})


def ready(obj: Obj) -> tuple[bool, str]:
    """Is `obj` ready by its kind's rule (or, for other kinds, a `Ready` condition if it has
    conditions, else by existing)? With a one-line status. For checks that probe once."""
    rule = for_kind(str(obj.get("kind", "")))
    if rule is None:
        rule = condition("Ready") if _status(obj).get("conditions") else (lambda _o: Verdict(True, "exists"))
    verdict = rule(obj)
    return verdict.done, verdict.failed or verdict.status


def progress(obj: Obj | None) -> tuple[int, int, str] | None:
    """How far a workload is, as `(have, want, word)`: `(1, 2, "ready")` reads "1/2 ready".
    Deployments and DaemonSets count available pods (what their rollout waits for), StatefulSets
    ready ones, Jobs succeeded completions, a Pod its ready containers. None for other kinds."""
    if obj is None:
        return None
    kind, spec, st = obj.get("kind"), obj.get("spec") or {}, _status(obj)
    if kind == "Deployment":
        return int(st.get("availableReplicas", 0)), int(spec.get("replicas", 1)), "ready"
    if kind == "StatefulSet":
        return int(st.get("readyReplicas", 0)), int(spec.get("replicas", 1)), "ready"
    if kind == "DaemonSet":
        return int(st.get("numberAvailable", 0)), int(st.get("desiredNumberScheduled", 0)), "ready"
    if kind == "Job":
        return int(st.get("succeeded", 0)), int(spec.get("completions") or 1), "succeeded"
    if kind == "Pod":
        containers = st.get("containerStatuses") or []
        want = len(containers) or len(spec.get("containers") or []) or 1
        return sum(1 for c in containers if c.get("ready")), want, "ready"
    return None


def for_kind(kind: str) -> Condition | None:
    """The readiness rule of a built-in kind, or None where existing is enough."""
    return _BY_KIND.get(kind)


def describe(kind: str) -> str:
    """What waiting for `kind` means, for messages."""
    return {
        "Deployment": "rollout", "StatefulSet": "rollout", "DaemonSet": "rollout",
        "Job": "completion", "Pod": "readiness", "CustomResourceDefinition": "Established",
        "Namespace": "Active",
    }.get(kind, "readiness")
