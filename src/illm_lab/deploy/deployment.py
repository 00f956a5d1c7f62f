"""`lab apply` and `lab diff`: deploying an experiment's components without checks or teardown.

One run of the ledger per `apply`: for every cluster role the experiment uses, connect, apply its
Namespaces and components (components in `dependsOn` order; each wave waits for its workloads when
the component asks to), then prune what this instance deployed before and no longer renders. The
load workflow is not applied here (conduct runs it after the checks), but its objects are never
pruned by an apply. Helm components are applied once a renderer has turned them into objects;
until then they are reported as having none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from illm_lab.base.identity import ObjectRef
from illm_lab.catalog import Entry
from illm_lab.config.selection import Target
from illm_lab.engine.events import Note, OnEngineEvent
from illm_lab.engine.inventory import NAMESPACES_COMPONENT, Inventory, instance_id
from illm_lab.ledger import Ledger, Outstanding, Run
from illm_lab.rendering.installers import installers
from illm_lab.rendering.render import RenderedComponent, Rendering, render

if TYPE_CHECKING:
    from illm_lab.engine.arrivals import Expectation
    from illm_lab.engine.diff import ObjectDiff
    from illm_lab.engine.prune import Removal
    from illm_lab.kube import Cluster

DEFAULT_TIMEOUT = 300.0  # a component's timeout when the manifest says none


@dataclass(frozen=True)
class Removed:
    """An object of the instance, removed from the cluster of `cluster` (a role): by a prune, a
    teardown or `lab down`."""

    cluster: str
    removal: Removal

    def as_dict(self) -> dict[str, str]:
        return {"cluster": self.cluster, **self.removal.as_dict()}


@dataclass
class DeployResult:
    experiment: str
    instance: str
    run_id: str
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    objects: list[dict[str, Any]] = field(default_factory=list)
    pruned: list[Removed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.objects:
            out[o["action"]] = out.get(o["action"], 0) + 1
        if self.pruned:
            out["pruned"] = sum(1 for p in self.pruned if p.removal.action == "deleted")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment, "instance": self.instance, "run": self.run_id,
            "clusters": self.clusters, "counts": self.counts(), "objects": self.objects,
            "pruned": [p.as_dict() for p in self.pruned], "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }


def roles_of(rendering: Rendering) -> list[str]:
    roles = set(rendering.namespaces) | {c.cluster for c in rendering.components}
    return sorted(r for r in roles if r in rendering.experiment.spec.clusters)


def waves(components: list[RenderedComponent]) -> list[list[RenderedComponent]]:
    """Components grouped so that each depends only on components of earlier groups."""
    done: set[str] = set()
    left = list(components)
    out: list[list[RenderedComponent]] = []
    while left:
        ready = [c for c in left if set(c.depends_on) <= done]
        if not ready:  # the manifest model refuses cycles; never loop forever regardless
            ready = left
        out.append(ready)
        done |= {c.name for c in ready}
        left = [c for c in left if c not in ready]
    return out


def connect(target: Target) -> Cluster:
    """Connect to the target's cluster. A role whose provider (kind, talos, ...) was chosen
    explicitly but whose cluster lab has not created is refused rather than silently deployed
    to the kubeconfig's current context; only `lab conduct` and `lab hub bootstrap` create."""
    from illm_lab import kube
    from illm_lab.base.errors import UsageError

    if target.creates and target.provider != "default" and target.kubeconfig is None:
        raise UsageError(
            f"the {target.role} cluster ({target.provider}, chosen by {target.source}) does not "
            f"exist yet: `lab conduct` creates it (--keep keeps it), or pass --context"
        )
    return kube.connect(target.kubeconfig, target.context)


def apply_experiment(
    entry: Entry,
    params: dict[str, Any],
    *,
    targets: Mapping[str, Target],
    instance: str | None = None,
    force_conflicts: bool = False,
    prune: bool = True,
    on_event: OnEngineEvent | None = None,
    ledger: Ledger | None = None,
) -> DeployResult:
    ledger = ledger or Ledger()
    rendering = render(entry, params)
    inventory = Inventory(entry.name, instance or instance_id(entry.name))
    with ledger.start(entry.experiment, params, instance=inventory.instance, command="apply") as run:
        return deploy_run(
            run, ledger, rendering, inventory, targets=targets, force_conflicts=force_conflicts,
            prune=prune, on_event=on_event,
        )


def deploy_run(
    run: Run,
    ledger: Ledger,
    rendering: Rendering,
    inventory: Inventory,
    *,
    targets: Mapping[str, Target],
    force_conflicts: bool = False,
    prune: bool = True,
    on_event: OnEngineEvent | None = None,
    clusters: dict[str, Cluster] | None = None,
) -> DeployResult:
    """Apply a rendering inside an open ledger run: per cluster role connect (or use the open
    connection in `clusters`), render its charts against that cluster, apply Namespaces and
    components wave by wave (hooks around each chart), wait, then prune what this instance
    deployed before and no longer renders."""
    from illm_lab.engine import prune as pruning

    emit = on_event or (lambda _e: None)
    started = time.monotonic()
    before = ledger.outstanding(inventory.instance)
    roles = roles_of(rendering)
    result = DeployResult(rendering.experiment.metadata.name, inventory.instance, run.id)
    for role in roles:
        cluster = (clusters or {}).get(role)
        own = cluster is None
        if cluster is None:
            cluster = open_cluster(run, role, targets[role])
        try:
            result.clusters[role] = {"context": cluster.context, "server": cluster.server}
            _render_charts(cluster, rendering, role, result, emit)
            kept = _deploy_role(cluster, run, ledger, rendering, inventory, role, result,
                                force_conflicts, emit)
            if prune:
                kept += _workflow_refs(rendering, role, inventory)
                result.pruned += _prune(cluster, inventory, role, kept, before.get(role),
                                        run.recorder(role), emit, pruning)
        finally:
            if own:
                cluster.close()
    result.seconds = time.monotonic() - started
    return result


def _deploy_role(
    cluster: Cluster, run: Run, ledger: Ledger, rendering: Rendering, inventory: Inventory,
    role: str, result: DeployResult, force_conflicts: bool, emit: OnEngineEvent,
) -> list[ObjectRef]:
    """One role's Namespaces, then its components wave by wave with each chart's hooks around
    its objects; returns every object this deploy keeps (for prune)."""
    from illm_lab.engine.apply import Applier

    applier = Applier(
        cluster, inventory, force_conflicts=force_conflicts,
        previous=ledger.live_hashes(inventory.instance, role), recorder=run.recorder(role),
        on_event=emit, role=role, expected=expectations(rendering, role),
    )
    owned = _owned_namespaces(cluster, inventory, rendering.namespaces.get(role, []), emit)
    kept = _apply_wave(cluster, applier, inventory, [(NAMESPACES_COMPONENT, owned)], [], rendering,
                       result, emit)
    for wave in waves([c for c in rendering.components if c.cluster == role]):
        for comp in wave:
            kept += _run_hooks(cluster, applier, inventory, comp, comp.hooks_before, run, role,
                               result, emit)
        pairs = [(c.name, c.objects) for c in wave]
        kept += _apply_wave(cluster, applier, inventory, pairs, wave, rendering, result, emit)
        for comp in wave:
            kept += _run_hooks(cluster, applier, inventory, comp, comp.hooks_after, run, role,
                               result, emit)
    return kept


def expectations(rendering: Rendering, role: str) -> dict[str, Expectation]:
    """The components of `role` that may wait for kinds served only at run time: those depending
    on a component that may install them (`rendering/installers.py`), each for its timeout."""
    from illm_lab.engine.arrivals import Expectation

    specs = {c.name: c for c in rendering.experiment.spec.components}
    found = installers([c for c in rendering.components if c.cluster == role])
    return {
        name: Expectation(float(specs[name].timeout) if name in specs else DEFAULT_TIMEOUT,
                          tuple(str(i) for i in by))
        for name, by in found.items()
    }


def _owned_namespaces(
    cluster: Cluster, inventory: Inventory, namespaces: list[dict[str, Any]], emit: OnEngineEvent
) -> list[dict[str, Any]]:
    """The Namespaces this instance may own: a Namespace that exists already without the
    instance's label belongs to someone else — lab deploys into it but never labels, records or
    deletes it (teardown would otherwise delete a namespace it did not create)."""
    from illm_lab.engine.inventory import LABEL_INSTANCE

    owned = []
    for ns in namespaces:
        live = cluster.get("v1", "Namespace", str(ns["metadata"]["name"]))
        labels = ((live or {}).get("metadata") or {}).get("labels") or {}
        if live is not None and labels.get(LABEL_INSTANCE) != inventory.instance:
            emit(Note(f"namespace {ns['metadata']['name']} exists already: used as it is, never deleted"))
            continue
        owned.append(ns)
    return owned


def open_cluster(run: Run, role: str, target: Target) -> Cluster:
    """Connect for `role`, recording the intent before and the result after in the ledger."""
    run.cluster_intent(role, kubeconfig=str(target.kubeconfig or ""), context=target.context)
    cluster = connect(target)
    try:
        version = cluster.server_version()
    except BaseException:
        cluster.close()
        raise
    run.cluster_result(
        role, ok=True, server=cluster.server, context=cluster.context,
        kubeconfig=cluster.target.kubeconfig, version=version,
    )
    return cluster


def _render_charts(
    cluster: Cluster, rendering: Rendering, role: str, result: DeployResult, emit: OnEngineEvent
) -> None:
    """Render this role's chart components with `helm template` against the live cluster."""
    charts = [c for c in rendering.components if c.cluster == role and c.source == "helm"]
    if not charts:
        return
    from illm_lab.charts import render_charts

    version = cluster.server_version().lstrip("v").split("+")[0].split("-")[0]
    render_charts(rendering, kube_version=version, api_versions=cluster.api_versions(), roles=[role])
    for comp in charts:
        emit(Note(f"component {comp.name}: rendered {comp.chart} ({len(comp.objects)} objects)"))
        result.notes.append(f"component {comp.name}: {comp.chart}")


def _apply_wave(
    cluster: Cluster,
    applier: Any,
    inventory: Inventory,
    pairs: list[tuple[str, list[dict[str, Any]]]],
    wave: list[RenderedComponent],
    rendering: Rendering,
    result: DeployResult,
    emit: OnEngineEvent,
) -> list[ObjectRef]:
    from illm_lab.engine.apply import plan
    from illm_lab.engine.wait import wait_all

    desired = plan(pairs, inventory)
    if not desired:
        return []
    report = applier.apply(desired)
    result.objects += [{"cluster": applier.role, **o.as_dict()} for o in report.outcomes]
    _wait(cluster, desired, wave, rendering, emit, wait_all)
    return [d.ref for d in desired]


def _run_hooks(
    cluster: Cluster,
    applier: Any,
    inventory: Inventory,
    comp: RenderedComponent,
    phases: list[Any],
    run: Run,
    role: str,
    result: DeployResult,
    emit: OnEngineEvent,
) -> list[ObjectRef]:
    """Apply each hook phase, wait for its Jobs, and delete the hooks whose policy says so
    (`hook-succeeded`); the rest stay in the inventory until teardown."""
    from illm_lab.engine import prune as pruning
    from illm_lab.engine.apply import plan
    from illm_lab.engine.wait import wait_all

    kept: list[ObjectRef] = []
    for phase in phases:
        desired = plan([(comp.name, [h.object for h in phase.hooks])], inventory)
        report = applier.apply(desired)
        result.objects += [{"cluster": role, **o.as_dict()} for o in report.outcomes]
        wait_all(cluster, [d.ref for d in desired], deadline=time.monotonic() + 600, on_event=emit)
        done = [
            d.ref for d, h in zip(desired, phase.hooks, strict=True)
            if "hook-succeeded" in h.delete_policies
        ]
        if done:
            pruning.delete_all(cluster, done, recorder=run.recorder(role), on_event=emit, role=role)
        kept += [d.ref for d in desired if d.ref not in done]
    return kept


def _wait(
    cluster: Cluster,
    desired: list[Any],
    wave: list[RenderedComponent],
    rendering: Rendering,
    emit: OnEngineEvent,
    wait_all: Callable[..., None],
) -> None:
    """Wait for the workloads of the wave's components that ask for it (`wait: true`)."""
    specs = {c.name: c for c in rendering.experiment.spec.components}
    wanted = {c.name: specs[c.name] for c in wave if c.name in specs and specs[c.name].wait}
    refs = [d.ref for d in desired if d.component in wanted]
    if not refs:
        return
    timeout = max(float(c.timeout) for c in wanted.values())
    wait_all(cluster, refs, deadline=time.monotonic() + timeout, on_event=emit)


def _kept_hooks(rendering: Rendering, role: str, inventory: Inventory) -> list[ObjectRef]:
    """Hooks an apply leaves in place (no `hook-succeeded` policy): not stale, not diffed."""
    from illm_lab.engine.apply import plan

    out: list[ObjectRef] = []
    for comp in rendering.components:
        if comp.cluster != role:
            continue
        for phase in comp.hooks_before + comp.hooks_after:
            kept = [h.object for h in phase.hooks if "hook-succeeded" not in h.delete_policies]
            out += [d.ref for d in plan([(comp.name, kept)], inventory)]
    return out


def _workflow_refs(rendering: Rendering, role: str, inventory: Inventory) -> list[ObjectRef]:
    from illm_lab.engine.apply import plan

    wf = rendering.workflow
    if wf is None or wf.cluster != role:
        return []
    return [d.ref for d in plan([(wf.name, wf.objects)], inventory)]


def _prune(
    cluster: Cluster,
    inventory: Inventory,
    role: str,
    kept: list[ObjectRef],
    before: Outstanding | None,
    recorder: Any,
    emit: OnEngineEvent,
    pruning: Any,
) -> list[Removed]:
    previous = before.refs if before else []
    types = {(r.api_version, r.kind) for r in [*kept, *previous]}
    live = pruning.labelled(cluster, inventory, types)
    stale = pruning.stale(kept, previous, live)
    if not stale:
        return []
    removals = pruning.delete_all(cluster, stale, recorder=recorder, on_event=emit, role=role)
    return [Removed(role, r) for r in removals]


def diff_experiment(
    entry: Entry,
    params: dict[str, Any],
    *,
    targets: Mapping[str, Target],
    instance: str | None = None,
    force_conflicts: bool = False,
    ledger: Ledger | None = None,
) -> list[ObjectDiff]:
    """Per object: create | change | unchanged | delete (would be pruned), with a unified diff."""
    from illm_lab.engine import prune as pruning
    from illm_lab.engine.apply import plan
    from illm_lab.engine.diff import ObjectDiff, diff

    rendering = render(entry, params)
    inventory = Inventory(entry.name, instance or instance_id(entry.name))
    before = (ledger or Ledger()).outstanding(inventory.instance)
    out: list[ObjectDiff] = []
    for role in roles_of(rendering):
        with connect(targets[role]) as cluster:
            # Charts are rendered against the live cluster exactly as `apply` renders them, or
            # every object a chart deployed would show as `delete`.
            _render_charts(cluster, rendering, role, DeployResult(entry.name, inventory.instance, ""),
                           lambda _e: None)
            pairs = [(NAMESPACES_COMPONENT, rendering.namespaces.get(role, []))]
            pairs += [(c.name, c.objects) for c in rendering.components if c.cluster == role]
            desired = plan(pairs, inventory)
            out += [replace(d, cluster=role)
                    for d in diff(cluster, desired, force_conflicts=force_conflicts)]
            kept = ([d.ref for d in desired] + _workflow_refs(rendering, role, inventory)
                    + _kept_hooks(rendering, role, inventory))
            previous = before[role].refs if role in before else []
            types = {(r.api_version, r.kind) for r in [*kept, *previous]}
            for ref in pruning.stale(kept, previous, pruning.labelled(cluster, inventory, types)):
                out.append(ObjectDiff(ref, "", "delete", "", cluster=role))
    return out
