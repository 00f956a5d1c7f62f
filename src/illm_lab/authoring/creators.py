"""Who may create an object at run time: the answer behind lint's check-target findings.

A check often names something no manifest contains: the Pods of a StatefulSet, the Endpoints of
a Service, the Secret cert-manager writes for a Certificate, the Service an operator makes from a
custom resource. Lint must not stop a conduct over those, so a missing target is an error only
when nothing in the rendering could create it:

- built-in controllers create Pods, ReplicaSets, Endpoints, EndpointSlices, Jobs, PVCs and the
  like from the workloads and Services rendered (and we say from which one when we can tell);
- any workload may create objects of the resources its RBAC grants `create` (or `patch`,
  `update`, `*`) on — an operator from a chart or a manifest, or the workflow's Job;
- a binding to a ClusterRole that is not rendered (`cluster-admin`, `edit`, an aggregated role)
  may grant anything;
- a `command` check runs with the user's own rights and may create anything.

When one of these holds, the finding is a note that names it. Only when none does is the target
certainly absent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from illm_lab.base import kinds

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
_WRITE_VERBS = frozenset({"create", "patch", "update", "*"})
# target kind -> the workload kinds whose controller creates it, named `<owner>-<suffix>`
_OWNERS = {
    "ReplicaSet": ("Deployment",),
    "Job": ("CronJob",),
    "ControllerRevision": ("StatefulSet", "DaemonSet"),
}


@dataclass(frozen=True)
class CheckTarget:
    """What a check expects to find: kind, namespace, and a name or a label selector."""

    kind: str
    namespace: str | None
    name: str | None
    selector: dict[str, str] | None

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        what = self.name or ",".join(f"{k}={v}" for k, v in (self.selector or {}).items())
        return f"{self.kind} {ns}{what}"


def present(objs: Iterable[dict[str, Any]], target: CheckTarget) -> bool:
    """True when an object of `objs` is the target itself."""
    for obj in objs:
        meta = obj.get("metadata") or {}
        if obj.get("kind") != target.kind:
            continue
        if target.namespace and meta.get("namespace") not in (target.namespace, None):
            continue
        if target.name and meta.get("name") != target.name:
            continue
        if target.selector and not _matches(meta.get("labels"), target.selector):
            continue
        return True
    return False


def created_by(objs: list[dict[str, Any]], target: CheckTarget) -> str | None:
    """Which rendered object a built-in controller makes the target from, or None."""
    for obj in objs:
        kind = obj.get("kind")
        meta = obj.get("metadata") or {}
        name, ns = str(meta.get("name", "")), meta.get("namespace")
        if target.namespace and ns not in (target.namespace, None):
            continue
        owner = f"{kind} {ns + '/' if ns else ''}{name}"
        if target.kind == "Pod" and kind in WORKLOADS:
            labels = (_pod_template(obj).get("metadata") or {}).get("labels")
            if target.selector and _matches(labels, target.selector):
                return owner
            if target.name and target.name.startswith(f"{name}-"):
                return owner
        elif kind in _OWNERS.get(target.kind, ()):
            if _same_workload(obj, target, name):
                return owner
        elif target.kind in ("Endpoints", "EndpointSlice") and kind == "Service":
            if target.name is None or target.name == name or target.name.startswith(f"{name}-"):
                return owner
        elif target.kind == "PersistentVolumeClaim" and kind == "StatefulSet":
            claims = ((obj.get("spec") or {}).get("volumeClaimTemplates")) or []
            for claim in claims:
                prefix = f"{(claim.get('metadata') or {}).get('name')}-{name}-"
                if target.name is None or target.name.startswith(prefix):
                    return owner
    return None


def granted(objs: list[dict[str, Any]], kind: str) -> str | None:
    """A rendered Role/ClusterRole (or a binding to an unrendered ClusterRole) that lets some
    workload create objects of `kind`; None when no RBAC in the rendering allows it."""
    plurals = _plurals(kind)
    rendered_roles = {str((o.get("metadata") or {}).get("name")) for o in objs
                      if o.get("kind") == "ClusterRole"}
    for obj in objs:
        if obj.get("kind") in ("Role", "ClusterRole"):
            for rule in obj.get("rules") or []:
                if not isinstance(rule, dict):
                    continue
                verbs = {str(v) for v in rule.get("verbs") or []}
                resources = {str(r).split("/")[0] for r in rule.get("resources") or []}
                if verbs & _WRITE_VERBS and (resources & plurals or "*" in resources):
                    name = (obj.get("metadata") or {}).get("name")
                    return f"{obj['kind']} {name} grants create on {sorted(resources & plurals) or '*'}"
        elif obj.get("kind") in ("RoleBinding", "ClusterRoleBinding"):
            ref = obj.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole" and str(ref.get("name")) not in rendered_roles:
                name = (obj.get("metadata") or {}).get("name")
                return (f"{obj['kind']} {name} binds ClusterRole {ref.get('name')}, which is not "
                        "rendered and may grant it")
    return None


def _plurals(kind: str) -> set[str]:
    lower = kind.lower()
    out = {lower, lower + "s", lower + "es"}
    if lower.endswith("y"):
        out.add(lower[:-1] + "ies")
    return out


def _pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") or {}
    return template if isinstance(template, dict) else {}


def _same_workload(obj: dict[str, Any], target: CheckTarget, name: str) -> bool:
    if target.name is not None:
        return target.name.startswith(f"{name}-")
    labels = (_pod_template(obj).get("metadata") or {}).get("labels")
    return bool(target.selector) and _matches(labels, target.selector or {})


def _matches(labels: Any, selector: dict[str, str]) -> bool:
    labels = labels if isinstance(labels, dict) else {}
    return all(str(labels.get(k)) == str(v) for k, v in selector.items())


def is_builtin_kind(kind: str) -> bool:
    """A kind we know to be built in (so only its own controllers or RBAC could create it)."""
    return kind in kinds.DEFAULT_API_VERSIONS and kinds.is_builtin(kinds.DEFAULT_API_VERSIONS[kind])
