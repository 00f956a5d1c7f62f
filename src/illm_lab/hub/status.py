"""`lab hub status`: is the hub reachable, which Kubernetes it runs, how each component is.

The hub is found the way it was bootstrapped: the cluster the newest `lab-hub` run recorded (or
the kubeconfig lab wrote for `lab-hub`), unless flags name one. A component's health is that of
its workloads — the Deployments, StatefulSets and DaemonSets carrying its inventory labels —
judged by the engine's readiness rules; OpenBao also reports whether it is sealed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from illm_lab.base.errors import ClusterError, InputError, LabError
from illm_lab.clusters.base import Health
from illm_lab.config.selection import Target
from illm_lab.hub import platform
from illm_lab.hub.bootstrap import HubRequest
from illm_lab.hub.results import ComponentHealth, HubReach, HubStatus, Workload

WORKLOADS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"))


def locate(request: HubRequest, experiment: Any) -> Target:
    """The hub's cluster: flags > the newest hub run in the ledger > the kubeconfig lab wrote."""
    from illm_lab.clusters import kubeconfig_of
    from illm_lab.config import selection as targets
    from illm_lab.ledger import Ledger

    if request.kubeconfig or request.context or request.hub_context:
        return targets.select(experiment, [platform.ROLE], kubeconfig=request.kubeconfig,
                              context=request.context,
                              role_contexts={platform.ROLE: request.hub_context})[platform.ROLE]
    record = Ledger().latest(platform.INSTANCE, role=platform.ROLE)
    recorded = record.clusters.get(platform.ROLE, {}) if record else {}
    if recorded.get("kubeconfig") and recorded.get("state") not in ("deleted", "kept"):
        return Target(platform.ROLE, Path(str(recorded["kubeconfig"])), recorded.get("context"),
                      "the last hub run", str(recorded.get("provider") or "existing"),
                      recorded.get("name"))
    written = kubeconfig_of(platform.CLUSTER)
    if written.is_file():
        return Target(platform.ROLE, written, None, "the hub cluster lab created", "default",
                      platform.CLUSTER)
    # No hub is a hub that cannot be reached: exit 3, as `lab hub status` promises.
    raise ClusterError("no hub yet: run `lab hub bootstrap` (or name one with --hub-context)")


def status(request: HubRequest) -> HubStatus:
    from illm_lab import kube
    from illm_lab.clusters import health

    entry = platform.load(request.platform)
    target = locate(request, entry.experiment)
    try:
        cluster = kube.connect(target.kubeconfig, target.context)
    except InputError:
        raise  # a malformed kubeconfig is bad input (exit 2), not an unreachable hub
    except LabError as exc:
        return HubStatus(_reach(target, Health(False, message=str(exc))), [])
    with cluster:
        state = health.of(cluster)
        reach = _reach(target, state, cluster)
        if not state.reachable:
            return HubStatus(reach, [])
        return HubStatus(reach, [_component(cluster, comp) for comp in entry.experiment.spec.components])


def _reach(target: Target, state: Health, cluster: Any = None) -> HubReach:
    """The hub's cluster as found at `target`; `cluster`: the client that connected, if any."""
    return HubReach(
        provider=target.provider, name=target.name, chosen_by=target.source,
        kubeconfig=str(target.kubeconfig) if target.kubeconfig else None, health=state,
        connected=cluster is not None, context=cluster.context if cluster is not None else None,
        server=cluster.server if cluster is not None else None,
    )


def _component(cluster: Any, comp: Any) -> ComponentHealth:
    from illm_lab.engine import readiness

    selector = f"lab.illm.io/instance={platform.INSTANCE},lab.illm.io/component={comp.name}"
    version = comp.helm.version if comp.helm else None
    try:
        found = [o for api, kind in WORKLOADS for o in cluster.list(api, kind, comp.namespace, selector)]
    except LabError as exc:
        return ComponentHealth(comp.name, comp.namespace, version, "unknown", str(exc)[:200])
    workloads = []
    for obj in found:
        rule = readiness.for_kind(obj["kind"])
        verdict = rule(obj) if rule else readiness.Verdict(True, "exists")
        workloads.append(Workload(obj["kind"], obj["metadata"]["name"], verdict.done, verdict.status))
    if not found:
        return ComponentHealth(comp.name, comp.namespace, version, "missing",
                               "not installed (no workloads with its labels)")
    waiting = [w for w in workloads if not w.ready]
    first = f"; {waiting[0].kind} {waiting[0].name}: {waiting[0].status}" if waiting else ""
    state = "not ready" if waiting else "ready"
    message = f"{len(found) - len(waiting)}/{len(found)} workloads ready{first}"
    seal = _seal(cluster, comp) if comp.name == platform.OPENBAO else None
    if seal is not None and seal.get("sealed"):
        state, message = "not ready", message + "; sealed"
    return ComponentHealth(comp.name, comp.namespace, version, state, message, workloads, seal)


def _seal(cluster: Any, comp: Any) -> dict[str, Any]:
    from illm_lab.hub.openbao import OpenBao

    service = (comp.helm.release_name if comp.helm else None) or comp.name
    try:
        return OpenBao(cluster, str(comp.namespace), service, timeout=5.0).seal_status()
    except LabError as exc:
        return {"error": str(exc)[:200]}
