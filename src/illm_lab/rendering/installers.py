"""Which components may install API kinds at run time — and so which ones may wait for them.

Some operators serve kinds that no chart renders: Crossplane creates its own CRDs (Function,
Composition, CompositeResourceDefinition) when it starts, and one more for every composite
resource definition it reads. A component applying such kinds finds them unserved when its wave
begins, with no CRD for them in the rendering. Lab waits for them only after a dependency that
could install them: a component it depends on (directly or through others, on the same cluster)
whose objects let a workload create CustomResourceDefinitions — a Role or ClusterRole granting
`create` (or `*`) on them, or a binding to a ClusterRole the rendering does not hold, which may
grant anything. Without such a dependency an unserved kind is refused at once: nothing in the
experiment could make it appear, so waiting out a timeout would only delay a typo's error.

The engine waits by this rule (adrs/0021), lint says by it why a custom resource is not
validated offline, and the emulator plays such an operator for the same components.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

CRD_GROUP = "apiextensions.k8s.io"
CRD_RESOURCE = "customresourcedefinitions"
_CREATE = frozenset({"create", "*"})


class Component(Protocol):
    """What the rule reads of a rendered component."""

    name: str
    cluster: str
    depends_on: list[str]
    objects: list[dict[str, Any]]


@dataclass(frozen=True)
class Installer:
    """A component that may install kinds at run time, and the object that says so."""

    component: str
    reason: str

    def __str__(self) -> str:
        return f"component {self.component} ({self.reason})"


def crd_grant(objects: Iterable[dict[str, Any]]) -> str | None:
    """Which of `objects` lets a workload create CustomResourceDefinitions, or None."""
    objs = list(objects)
    rendered_roles = {str((o.get("metadata") or {}).get("name")) for o in objs
                      if o.get("kind") == "ClusterRole"}
    for obj in objs:
        name = (obj.get("metadata") or {}).get("name")
        rules = (obj.get("rules") or []) if obj.get("kind") in ("Role", "ClusterRole") else []
        if any(_grants_crds(r) for r in rules):
            return f"{obj['kind']} {name} grants create on customresourcedefinitions"
        if obj.get("kind") in ("RoleBinding", "ClusterRoleBinding"):
            ref = obj.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole" and str(ref.get("name")) not in rendered_roles:
                return f"{obj['kind']} {name} binds ClusterRole {ref.get('name')}, which may grant it"
    return None


def installers(
    components: Sequence[Component], unrendered: Iterable[str] = ()
) -> dict[str, list[Installer]]:
    """Component name -> the components it depends on (transitively, on its own cluster) that may
    install kinds at run time; components without any are left out. A chart component in
    `unrendered` (lint without the chart in the cache) may install anything."""
    by_name = {c.name: c for c in components}
    unknown = set(unrendered)
    own: dict[str, Installer | None] = {}
    for comp in components:
        if comp.name in unknown:
            own[comp.name] = Installer(comp.name, "its chart was not rendered")
        else:
            grant = crd_grant(comp.objects)
            own[comp.name] = Installer(comp.name, grant) if grant else None
    out: dict[str, list[Installer]] = {}
    for comp in components:
        found: list[Installer] = []
        seen: set[str] = set()
        todo = list(comp.depends_on)
        while todo:
            name = todo.pop(0)
            dep = by_name.get(name)
            if name in seen or dep is None or dep.cluster != comp.cluster:
                continue
            seen.add(name)
            installer = own.get(name)
            if installer is not None:
                found.append(installer)
            todo += dep.depends_on
        if found:
            out[comp.name] = found
    return out


def _grants_crds(rule: Any) -> bool:
    if not isinstance(rule, dict):
        return False
    groups = {str(g) for g in rule.get("apiGroups") or []}
    resources = {str(r) for r in rule.get("resources") or []}
    verbs = {str(v) for v in rule.get("verbs") or []}
    return (bool(groups & {CRD_GROUP, "*"}) and bool(resources & {CRD_RESOURCE, "*"})
            and bool(verbs & _CREATE))
