"""Tier 2: the emulator plays the operators that install kinds at run time.

A component may apply kinds that a component it depends on installs only once it runs (Crossplane
creates its CRDs at start-up); the engine waits for them (adrs/0021). The emulator runs no
operator, so it plays one: for every component that may wait (`rendering/installers.py`), the
kinds of its objects that neither the emulator nor a CRD of the rendering serves get a CRD, which
the emulator creates a moment after the installer's first workload is ready — later than its
objects, so the engine's wait is exercised, not skipped. Each CRD keeps every field and takes
its scope from the rendered objects (namespaced when they carry a namespace); a CRD an operator
derives from another object (Crossplane's for each XRD) appears with the operator's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from illm_lab.base import kinds
from illm_lab.engine.inventory import LABEL_COMPONENT
from illm_lab.rendering.installers import installers
from illm_lab.rendering.render import RenderedComponent, Rendering

AFTER = 0.3  # seconds between the operator's workload being ready and its CRDs appearing
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass
class _Late:
    installer: str
    versions: list[str] = field(default_factory=list)
    namespaced: bool = False


def play(emulator: Any, rendering: Rendering, role: str) -> None:
    """Register with `emulator` the CRDs the operators of `role` install at run time."""
    from tests.support.emulator_kinds import custom_resource_definition

    comps = [c for c in rendering.components if c.cluster == role]
    by_name = {c.name: c for c in comps}
    defined = kinds.crd_scopes([o for c in comps for o in _objects(c)])
    late: dict[tuple[str, str], _Late] = {}
    for name, found in sorted(installers(comps).items()):
        for obj in _objects(by_name[name]):
            api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
            group, _, version = api_version.rpartition("/")
            if not group or (group, kind) in defined or emulator.serves(api_version, kind):
                continue
            entry = late.setdefault((group, kind), _Late(found[0].component))
            if version not in entry.versions:
                entry.versions.append(version)
            entry.namespaced = entry.namespaced or bool((obj.get("metadata") or {}).get("namespace"))
    by_installer: dict[str, list[dict[str, Any]]] = {}
    for (group, kind), entry in sorted(late.items()):
        crd = custom_resource_definition(group, kind, entry.versions, namespaced=entry.namespaced)
        by_installer.setdefault(entry.installer, []).append(crd)
    for name, crds in by_installer.items():
        workload = next((str(o["kind"]) for o in by_name[name].objects if o.get("kind") in WORKLOADS),
                        "Deployment")
        emulator.install_crds(crds, when_ready=workload, label_selector=f"{LABEL_COMPONENT}={name}",
                              after=AFTER)


def _objects(comp: RenderedComponent) -> list[dict[str, Any]]:
    hooks = [h.object for phase in comp.hooks_before + comp.hooks_after for h in phase.hooks]
    return [*comp.objects, *hooks]
