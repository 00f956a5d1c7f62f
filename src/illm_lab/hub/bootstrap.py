"""`lab hub bootstrap`: create or attach the hub cluster, install the platform, open OpenBao.

One ledger run (instance `lab-hub`) holds it all: the cluster intent before the provider starts,
every object's intent before it is applied, so `lab hub destroy` can always undo a bootstrap that
died half-way. The platform goes through the same path as an experiment (`deploy.deploy_run`:
charts rendered with `helm template` against the hub, applied by the engine, waited for, stale
objects pruned), so a re-run converges and reports per component what was created, changed or
left unchanged. With `--components` only those are applied, and nothing is pruned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illm_lab.base.events import Emit
from illm_lab.base.steps import Steps
from illm_lab.config.selection import Target
from illm_lab.engine.events import EngineEvent, Note, OnEngineEvent
from illm_lab.hub import platform
from illm_lab.hub.results import BaoOpened, ComponentResult, HubCluster, HubResult


@dataclass
class HubRequest:
    provider: str | None = None
    components: list[str] = field(default_factory=list)
    kubeconfig: Path | None = None
    context: str | None = None
    hub_context: str | None = None
    platform: Path | None = None
    sets: list[str] = field(default_factory=list)
    values: list[Path] = field(default_factory=list)
    force_conflicts: bool = False
    openbao_timeout: float = 600.0


def hub_target(entry_experiment: Any, request: HubRequest) -> Target:
    """Where the hub goes: as `targets.select` says; but with nothing said at all (no flag,
    config or env), where the last bootstrap put it, so a hub on an existing context is not
    followed by a second one on a new local cluster."""
    from dataclasses import replace

    from illm_lab.config import selection as targets
    from illm_lab.ledger import Ledger

    chosen = targets.select(
        entry_experiment, [platform.ROLE], kubeconfig=request.kubeconfig, context=request.context,
        role_contexts={platform.ROLE: request.hub_context}, provider=request.provider,
        instance=platform.INSTANCE, cluster_names={platform.ROLE: platform.CLUSTER},
    )[platform.ROLE]
    if chosen.provider != targets.DEFAULT or chosen.kubeconfig is not None:
        return chosen
    record = Ledger().latest(platform.INSTANCE, role=platform.ROLE)
    last = record.clusters.get(platform.ROLE, {}) if record else {}
    if last.get("state") == "ready" and not last.get("create") and last.get("server"):
        return replace(chosen, provider=targets.EXISTING, name=None, context=last.get("context"),
                       kubeconfig=Path(str(last["kubeconfig"])) if last.get("kubeconfig") else None,
                       source="the last hub bootstrap")
    return chosen


def bootstrap(request: HubRequest, emit: Emit) -> HubResult:
    from illm_lab import catalog
    from illm_lab.clusters import provision
    from illm_lab.deploy.deployment import deploy_run, open_cluster
    from illm_lab.engine.inventory import Inventory
    from illm_lab.ledger import Ledger
    from illm_lab.rendering import render

    started = time.monotonic()
    entry = platform.load(request.platform)
    ready = catalog.prepare(entry, request.values, request.sets)
    entry, resolved = ready.entry, ready.params
    rendering = render.render(entry, resolved)
    if request.components:
        rendering = platform.select(rendering, request.components)
    target = hub_target(entry.experiment, request)
    steps = Steps(emit, platform.EXPERIMENT)
    inventory = Inventory(entry.name, platform.INSTANCE)
    ledger = Ledger()
    opened: BaoOpened | None = None
    ok = False
    try:
        with ledger.start(entry.experiment, resolved, instance=platform.INSTANCE,
                          command="hub bootstrap") as run:
            with steps("cluster") as step:
                target = provision(run, platform.ROLE, target, note=steps.note)
                cluster = open_cluster(run, platform.ROLE, target)
                hub = _hub_cluster(target, cluster)
                step.message = f"{target.provider} {cluster.context} ({hub.version})"
            try:
                with steps("platform") as step:
                    deployed = deploy_run(
                        run, ledger, rendering, inventory, targets={platform.ROLE: target},
                        clusters={platform.ROLE: cluster}, prune=not request.components,
                        force_conflicts=request.force_conflicts, on_event=notes_to(steps),
                    )
                    step.message = ", ".join(f"{n} {a}" for a, n in sorted(deployed.counts().items()))
                bao = next((c for c in rendering.components if c.name == platform.OPENBAO), None)
                if bao is not None:
                    with steps("openbao") as step:
                        opened = _open_bao(cluster, rendering, bao, request, steps)
                        step.message = opened.action
            finally:
                cluster.close()
        ok = True
    finally:
        steps.finish(ok)
    return HubResult(
        instance=platform.INSTANCE, run_id=run.id, cluster=hub, counts=deployed.counts(),
        components=_per_component(rendering, deployed.objects), pruned=deployed.pruned,
        openbao=opened, steps=list(steps.records), seconds=time.monotonic() - started,
    )


def _hub_cluster(target: Target, cluster: Any) -> HubCluster:
    return HubCluster(
        provider=target.provider, name=target.name if target.creates else None,
        context=cluster.context, server=cluster.server,
        kubeconfig=str(target.kubeconfig) if target.kubeconfig else None,
        version=cluster.server_version(), chosen_by=target.source,
    )


def notes_to(steps: Steps) -> OnEngineEvent:
    """An engine callback that keeps the engine's notes as notes of the current step."""
    def forward(event: EngineEvent) -> None:
        match event:
            case Note(message=message):
                steps.note(message)

    return forward


def _per_component(rendering: Any, objects: list[dict[str, Any]]) -> list[ComponentResult]:
    specs = {c.name: c for c in rendering.experiment.spec.components}
    out = []
    for comp in rendering.components:
        counts: dict[str, int] = {}
        changed = []
        for obj in objects:
            if obj.get("component") == comp.name:
                counts[obj["action"]] = counts.get(obj["action"], 0) + 1
                if obj["action"] != "unchanged":
                    where = f"{obj['namespace']}/{obj['name']}" if obj.get("namespace") else obj["name"]
                    changed.append(f"{obj['action']}: {obj['kind']} {where}")
        helm = specs[comp.name].helm if comp.name in specs else None
        chart = comp.chart or (f"{helm.chart} {helm.version}" if helm and helm.chart else None)
        out.append(ComponentResult(comp.name, comp.namespace, chart, counts, changed))
    return out


def _open_bao(cluster: Any, rendering: Any, comp: Any, request: HubRequest, steps: Steps) -> BaoOpened:
    from illm_lab.base.identity import ObjectRef
    from illm_lab.engine.wait import wait_all
    from illm_lab.hub.openbao import OpenBao, keys_path

    spec = next(c for c in rendering.experiment.spec.components if c.name == comp.name)
    service = (spec.helm.release_name if spec.helm else None) or comp.name
    bao = OpenBao(cluster, str(comp.namespace), service)
    deadline = time.monotonic() + request.openbao_timeout
    steps.note(f"waiting for OpenBao {comp.namespace}/{service} to answer")
    bao.wait_answering(deadline)
    action = bao.ensure(steps.note)
    workloads = [ObjectRef.of(o) for o in comp.objects if o.get("kind") in ("StatefulSet", "Deployment")]
    wait_all(cluster, workloads, deadline=deadline)  # Ready once unsealed
    return BaoOpened(f"{comp.namespace}/{service}", action, str(keys_path()))
