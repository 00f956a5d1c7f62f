"""Tier 2: apply an experiment for real on the API emulator through the engine, then remove it.

One emulator per cluster role (two roles on one API server would prune each other's objects:
prune lists everything carrying the instance label). The emulator plays the controllers
(`auto_ready`), so the engine's waits for workloads and hook Jobs finish at once; waits are capped
anyway, so a workload the emulator cannot make ready fails in bounded time. It also plays the
operators whose dependants wait for kinds they install at run time (`operators.py`).

The objects applied are the ones rendered for the target version, as counted and linted: the chart
components are handed to `deploy_run` already rendered (marked as manifests), instead of being
rendered again for the emulator's own reported version. Namespaces, waves, hooks, waits and prune
are the engine's; the load workflow and tutorial solutions are applied after, as conduct does.
Removal is `deploy.teardown.remove_outstanding` (the ledger and the instance label), and afterwards the
emulator's whole store is searched for anything of the instance or in its Namespaces.

Some controllers register their CRDs themselves when they start, instead of shipping them in their
chart (Cilium's operator). The emulator plays that too (`RUNTIME_CRDS`): when the workload that
registers them is created, the CRDs appear, established, with an open schema — so the experiment's
own custom resources of those kinds apply after it, as on a real cluster, and fail before it.
Like the real ones, they belong to no experiment and stay after removal.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from illm_lab.base.errors import LabError
from illm_lab.catalog import Entry
from illm_lab.config.selection import Target
from illm_lab.deploy.deployment import deploy_run, open_cluster, roles_of
from illm_lab.deploy.teardown import remove_outstanding
from illm_lab.engine.apply import Applier, plan
from illm_lab.engine.events import EngineEvent, ObjectApplied
from illm_lab.engine.inventory import LABEL_INSTANCE, Inventory
from illm_lab.kube import Cluster
from illm_lab.ledger import Ledger
from illm_lab.rendering.render import Rendering
from verifycatalog import operators
from verifycatalog.core import ApplyResult, all_objects, one_line

WAIT_CAP = 120.0  # seconds a wave may wait; the emulator makes workloads ready in milliseconds
READY_AFTER = 0.01
REMOVE_TIMEOUT = 120.0
APPLIED = frozenset({"created", "configured", "unchanged"})

# (kind, name) of the workload that registers CRDs when it starts -> the CRDs it registers, each
# (group, version, kind, plural, scope). Only kinds experiments of the catalog create are listed.
RUNTIME_CRDS: dict[tuple[str, str], list[tuple[str, str, str, str, str]]] = {
    ("Deployment", "cilium-operator"): [
        ("cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", "Namespaced"),
        ("cilium.io", "v2", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", "Cluster"),
    ],
}


def apply_and_remove(entry: Entry, rendering: Rendering, *, ledger: Ledger, instance: str,
                     workdir: Path) -> ApplyResult:
    """Apply `rendering` (charts already rendered; it is changed) on fresh emulators, remove it."""
    from tests.support.emulator import LabEmulator

    result = ApplyResult("emulator")
    started = time.monotonic()
    _as_rendered(rendering)
    extras = [*([rendering.workflow] if rendering.workflow else []), *rendering.solutions.values()]
    roles = sorted(set(roles_of(rendering)) | {c.cluster for c in extras})
    result.total = len(all_objects(rendering))
    inventory = Inventory(entry.name, instance)
    accepted = Accepted()
    emulators: dict[str, Any] = {}
    try:
        for role in roles:
            emulators[role] = LabEmulator().start(workdir / role)
            emulators[role].auto_ready(None, after=READY_AFTER)
            play_runtime_crds(emulators[role])
            operators.play(emulators[role], rendering, role)
        existing = {str(ns["metadata"]["name"])
                    for emu in emulators.values() for ns in emu.list("v1", "Namespace")}
        targets = {role: Target(role, emu.kubeconfig, "emulator", "verify-catalog (emulator)")
                   for role, emu in emulators.items()}
        with ledger.start(entry.experiment, rendering.params, instance=instance,
                          command="verify") as run:
            clusters: dict[str, Cluster] = {}
            try:
                for role in roles:
                    clusters[role] = open_cluster(run, role, targets[role])
                deploy_run(run, ledger, rendering, inventory, targets=targets, clusters=clusters,
                           on_event=accepted.see)
                for comp in extras:
                    desired = plan([(comp.name, comp.objects)], inventory)
                    Applier(clusters[comp.cluster], inventory, recorder=run.recorder(comp.cluster),
                            role=comp.cluster, on_event=accepted.see).apply(desired)
            except LabError as exc:
                result.failures.append(one_line(exc))
            finally:
                result.applied = len(accepted.refs)
                try:
                    _remove(run, ledger, inventory, clusters, result)
                finally:
                    for cluster in clusters.values():
                        cluster.close()
        namespaces = {str(o["metadata"]["name"]) for nss in rendering.namespaces.values() for o in nss}
        namespaces -= existing  # default, kube-system, ...: there before, and never lab's
        left = [f"{role}: {what}" for role, emu in emulators.items()
                for what in _leftovers(emu, instance, namespaces)]
        if left and result.removed:
            result.removed = False
            more = f" (+{len(left) - 5} more)" if len(left) > 5 else ""
            result.removal = "left: " + ", ".join(left[:5]) + more
    except Exception as exc:
        result.failures.append(f"verify: {one_line(exc)}")
    finally:
        for emu in emulators.values():
            emu.stop()
    for role, emu in emulators.items():
        result.failures += [f"emulator ({role}) internal error: {one_line(e)}" for e in emu.internal_errors]
    result.seconds = time.monotonic() - started
    return result


def play_runtime_crds(emu: Any) -> None:
    """Register `RUNTIME_CRDS` on `emu` when the workload that registers them is created."""

    def registrar(kind: str) -> Any:
        def created(obj: dict[str, Any]) -> None:
            for crd in RUNTIME_CRDS.get((kind, str(obj["metadata"]["name"])), []):
                if not emu.list("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                                field_selector=f"metadata.name={crd[3]}.{crd[0]}"):
                    emu.create(runtime_crd(*crd), manager="runtime-crds")
        return created

    for kind in sorted({kind for kind, _ in RUNTIME_CRDS}):
        emu.on_create(kind, registrar(kind))


def runtime_crd(group: str, version: str, kind: str, plural: str, scope: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [{"name": version, "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": True}}}],
        },
    }


def _as_rendered(rendering: Rendering) -> None:
    """Charts count as manifests from here on (so `deploy_run` applies what was rendered for the
    target version), and no wave waits longer than WAIT_CAP."""
    for comp in rendering.components:
        comp.source = "manifests"
    spec = rendering.experiment.spec
    capped = [c.model_copy(update={"timeout": min(float(c.timeout), WAIT_CAP)}) for c in spec.components]
    rendering.experiment = rendering.experiment.model_copy(
        update={"spec": spec.model_copy(update={"components": capped})})


class Accepted:
    """The distinct objects the engine reports applied (hooks deleted after success included)."""

    def __init__(self) -> None:
        self.refs: set[str] = set()

    def see(self, event: EngineEvent) -> None:
        if isinstance(event, ObjectApplied) and event.action in APPLIED:
            self.refs.add(event.ref.key)


def _remove(run: Any, ledger: Ledger, inventory: Inventory, clusters: dict[str, Cluster],
            result: ApplyResult) -> None:
    try:
        remove_outstanding(run, ledger, inventory, clusters=clusters,
                           deadline=time.monotonic() + REMOVE_TIMEOUT)
    except LabError as exc:
        result.removal = f"removal failed: {one_line(exc)}"
        return
    outstanding = [r for o in ledger.outstanding(inventory.instance).values() for r in o.refs]
    result.removed = not outstanding
    result.removal = "all removed" if not outstanding else (
        f"{len(outstanding)} objects still in the ledger, first {outstanding[0]}")


def _leftovers(emu: Any, instance: str, namespaces: set[str]) -> list[str]:
    """Everything in the emulator's store that carries the instance label, lives in one of the
    experiment's Namespaces, or is one of them — read on the emulator's own loop."""

    def scan() -> list[str]:
        found: list[str] = []
        for rt in list(emu.store.types()):
            for obj in emu.store.iter_live(rt, None):
                meta = obj.get("metadata") or {}
                name, ns = meta.get("name"), meta.get("namespace")
                mine = (meta.get("labels") or {}).get(LABEL_INSTANCE) == instance
                inside = rt.namespaced and ns in namespaces
                itself = rt.kind == "Namespace" and name in namespaces
                if mine or inside or itself:
                    found.append(f"{rt.kind} {ns + '/' if ns else ''}{name}")
        return sorted(found)

    return emu._call(scan)  # type: ignore[no-any-return]
