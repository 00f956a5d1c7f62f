"""What `lab hub bootstrap | status | destroy` return: typed results the terminal view reads,
each with `as_dict`, its JSON shape (`-o json|yaml`), whose keys keep the order they always had.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from illm_lab.base.steps import StepRecord
    from illm_lab.clusters import Health
    from illm_lab.deploy.deployment import Removed
    from illm_lab.deploy.teardown import RemovalResult


# -- lab hub bootstrap ---------------------------------------------------------------------------
@dataclass(frozen=True)
class HubCluster:
    """The cluster the hub runs on, as the bootstrap reached it."""

    provider: str
    name: str | None  # the cluster lab created; None on an existing one
    context: str | None
    server: str | None
    kubeconfig: str | None
    version: str | None
    chosen_by: str

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "name": self.name, "context": self.context,
                "server": self.server, "kubeconfig": self.kubeconfig, "version": self.version,
                "chosenBy": self.chosen_by}


@dataclass(frozen=True)
class ComponentResult:
    """One platform component: how many of its objects were created, configured or unchanged,
    and a line per object that changed."""

    name: str
    namespace: str | None
    chart: str | None
    counts: dict[str, int]
    changed: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "chart": self.chart,
                "counts": self.counts, "changed": self.changed}


@dataclass(frozen=True)
class BaoOpened:
    """OpenBao after the bootstrap: what was done to it, and where its keys are kept."""

    service: str
    action: str
    keys: str

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "action": self.action, "keys": self.keys}


@dataclass(frozen=True)
class HubResult:
    instance: str
    run_id: str
    cluster: HubCluster
    counts: dict[str, int]
    components: list[ComponentResult]
    pruned: list[Removed]
    openbao: BaoOpened | None
    steps: list[StepRecord]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance, "components": [c.as_dict() for c in self.components],
            "openbao": self.openbao.as_dict() if self.openbao else None, "run": self.run_id,
            "cluster": self.cluster.as_dict(), "counts": self.counts,
            "pruned": [p.as_dict() for p in self.pruned],
            "steps": [s.as_dict() for s in self.steps], "seconds": round(self.seconds, 3),
        }


# -- lab hub status ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    ready: bool
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "ready": self.ready, "status": self.status}


@dataclass(frozen=True)
class ComponentHealth:
    """A platform component's health: that of its workloads (OpenBao: also whether sealed)."""

    name: str
    namespace: str | None
    version: str | None
    state: str  # ready | not ready | missing | unknown
    message: str
    workloads: list[Workload] = field(default_factory=list)
    openbao: dict[str, Any] | None = None  # OpenBao's seal status, as it answered

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "version": self.version,
                "workloads": [w.as_dict() for w in self.workloads], "state": self.state,
                "message": self.message, **({"openbao": self.openbao} if self.openbao is not None else {})}


@dataclass(frozen=True)
class HubReach:
    """Where the hub was looked for, and what answered there."""

    provider: str
    name: str | None
    chosen_by: str
    kubeconfig: str | None
    health: Health
    connected: bool = False  # a client connected (its context and server are known)
    context: str | None = None
    server: str | None = None

    def as_dict(self) -> dict[str, Any]:
        where = {"provider": self.provider, "name": self.name, "chosenBy": self.chosen_by,
                 "kubeconfig": self.kubeconfig}
        if not self.connected:
            return {**where, "reachable": False, "message": self.health.message}
        return {**where, "context": self.context, "server": self.server, **self.health.as_dict()}


@dataclass(frozen=True)
class HubStatus:
    cluster: HubReach
    components: list[ComponentHealth]

    @property
    def reachable(self) -> bool:
        return self.cluster.connected and self.cluster.health.reachable

    @property
    def ok(self) -> bool:
        return (self.reachable and self.cluster.health.ok
                and all(c.state == "ready" for c in self.components))

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster.as_dict(), "components": [c.as_dict() for c in self.components],
                "ok": self.ok}


# -- lab hub destroy -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedCluster:
    name: str
    provider: str | None
    state: str | None


@dataclass(frozen=True)
class HubPlan:
    """What `lab hub destroy` would remove, for its confirmation question."""

    clusters: list[PlannedCluster]
    objects: int


@dataclass(frozen=True)
class HubRemoval:
    removal: RemovalResult
    openbao_keys_removed: bool
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {**self.removal.as_dict(), "openbaoKeysRemoved": self.openbao_keys_removed,
                "seconds": round(self.seconds, 3)}
