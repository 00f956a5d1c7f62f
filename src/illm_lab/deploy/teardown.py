"""The one teardown: conduct's teardown step, `lab down`, and `lab hub destroy` all remove an
instance through `remove_everything`, and `lab apply`'s prune deletes through the same
`engine.prune.delete_all`.

What is removed is what the ledger names (intents included: a killed run may have sent them)
plus whatever carries the instance's inventory label, so renamed or half-applied objects are
found too (adrs/0004). Then the clusters lab created for the instance are deleted — never an
`existing` one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from illm_lab.catalog import Entry
from illm_lab.clusters import ClusterRemoval
from illm_lab.config.selection import Target
from illm_lab.deploy.deployment import Removed, open_cluster
from illm_lab.engine.events import Note, OnEngineEvent
from illm_lab.engine.inventory import Inventory, instance_id
from illm_lab.ledger import Ledger, Outstanding, Run

if TYPE_CHECKING:
    from illm_lab.kube import Cluster



@dataclass(frozen=True)
class Skipped:
    """A role whose objects were not deleted one by one: its cluster (lab's) was deleted next."""

    cluster: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"cluster": self.cluster, "reason": self.reason}


@dataclass
class RemovalResult:
    instance: str
    run_id: str
    removed: list[Removed] = field(default_factory=list)
    clusters: list[ClusterRemoval] = field(default_factory=list)  # clusters lab created, removed
    skipped: list[Skipped] = field(default_factory=list)  # roles whose cluster was gone

    @property
    def deleted(self) -> int:
        """Objects deleted now (not those found gone already)."""
        return sum(1 for r in self.removed if r.removal.action == "deleted")

    def clusters_text(self) -> str:
        """`, cluster NAME ACTION` per cluster, for the line that ends a teardown step."""
        return "".join(f", cluster {c.name} {c.action}" for c in self.clusters)

    def as_dict(self) -> dict[str, Any]:
        return {"instance": self.instance, "run": self.run_id,
                "removed": [r.as_dict() for r in self.removed],
                "clusters": [c.as_dict() for c in self.clusters],
                "skipped": [s.as_dict() for s in self.skipped]}


@dataclass(frozen=True)
class DownResult:
    """`lab down`: what was removed, or why nothing was; `as_dict` is its JSON shape."""

    instance: str
    removal: RemovalResult | None = None  # None: nothing of the instance was deployed
    message: str | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()  # run files that could not be read, skipped

    def as_dict(self) -> dict[str, Any]:
        if self.removal is None:
            return {"instance": self.instance, "run": None, "removed": [], "message": self.message,
                    "warnings": list(self.warnings)}
        return {**self.removal.as_dict(), "seconds": round(self.seconds, 3),
                "warnings": list(self.warnings)}


def delete_instance(
    entry: Entry,
    *,
    instance: str | None = None,
    targets: Mapping[str, Target] | None = None,
    deadline: float | None = None,
    on_event: OnEngineEvent | None = None,
    ledger: Ledger | None = None,
    force_finalizers: bool = False,
) -> RemovalResult:
    """Delete everything the runs of an instance left (a run of its own in the ledger): the
    objects first, then the clusters lab created for it (never an `existing` one)."""
    from illm_lab.engine.inventory import Inventory

    inventory = Inventory(entry.name, instance or instance_id(entry.name))
    ledger = ledger or Ledger()
    with ledger.start(entry.experiment, {}, instance=inventory.instance, command="delete") as run:
        return remove_everything(run, ledger, inventory, targets=targets, deadline=deadline,
                                 on_event=on_event, force_finalizers=force_finalizers)


def remove_everything(
    run: Run,
    ledger: Ledger,
    inventory: Inventory,
    *,
    targets: Mapping[str, Target] | None = None,
    clusters: Mapping[str, Cluster] | None = None,
    deadline: float | None = None,
    on_event: OnEngineEvent | None = None,
    force_finalizers: bool = False,
) -> RemovalResult:
    """`remove_outstanding`, then delete the clusters the instance's runs created. The objects on
    such a cluster go with it, so a cluster that no longer answers (or was half-created) does
    not stop its own deletion."""
    from illm_lab.clusters import remove_created

    emit = on_event or (lambda _e: None)
    created = ledger.created_clusters(inventory.instance)
    result = remove_outstanding(run, ledger, inventory, targets=targets, clusters=clusters,
                                deadline=deadline, on_event=emit, tolerate=set(created),
                                force_finalizers=force_finalizers)
    result.clusters = remove_created(run, ledger, inventory.instance,
                                     note=lambda m: emit(Note(m)))
    return result


def remove_outstanding(
    run: Run,
    ledger: Ledger,
    inventory: Inventory,
    *,
    targets: Mapping[str, Target] | None = None,
    clusters: Mapping[str, Cluster] | None = None,
    deadline: float | None = None,
    on_event: OnEngineEvent | None = None,
    tolerate: Collection[str] = (),
    force_finalizers: bool = False,
) -> RemovalResult:
    """Inside an open run: per cluster role, delete the objects the ledger names (intents
    included: a killed run may have sent them) and those carrying the instance label. Clusters
    are reached through `clusters`, else `targets`, else as the ledger recorded them. For the
    roles in `tolerate` (clusters lab created and will delete next) a cluster or kubeconfig
    error skips the role instead of failing. `force_finalizers`: see `engine.holds`."""
    from illm_lab.base.errors import ClusterError, ConfigError

    emit = on_event or (lambda _e: None)
    result = RemovalResult(inventory.instance, run.id)
    for role, outstanding in sorted(ledger.outstanding(inventory.instance).items()):
        if not outstanding.refs:
            continue  # nothing recorded there: no need to reach the cluster at all
        try:
            _remove_role(run, role, outstanding, inventory, result, targets, clusters,
                         deadline, emit, force_finalizers)
        except (ClusterError, ConfigError) as exc:
            if role not in tolerate:
                raise
            result.skipped.append(Skipped(role, str(exc)[:300]))
            emit(Note(f"{role}: objects not deleted one by one ({exc}); its cluster is deleted next"))
    return result


def _remove_role(
    run: Run,
    role: str,
    outstanding: Outstanding,
    inventory: Inventory,
    result: RemovalResult,
    targets: Mapping[str, Target] | None,
    clusters: Mapping[str, Cluster] | None,
    deadline: float | None,
    emit: OnEngineEvent,
    force_finalizers: bool,
) -> None:
    from illm_lab.engine import prune as pruning

    cluster = (clusters or {}).get(role)
    own = cluster is None
    if cluster is None:
        recorded = outstanding.cluster
        target = (targets or {}).get(role) or Target(
            role=role,
            kubeconfig=_path_or_none(recorded.get("kubeconfig")),
            context=recorded.get("context"),
            source="ledger",
        )
        cluster = open_cluster(run, role, target)
    try:
        types = {(r.api_version, r.kind) for r in outstanding.refs}
        live = pruning.labelled(cluster, inventory, types)
        refs = pruning.stale([], outstanding.refs, live)
        removals = pruning.delete_all(
            cluster, refs, deadline=deadline, recorder=run.recorder(role), on_event=emit,
            role=role, force_finalizers=force_finalizers,
        )
        result.removed += [Removed(role, r) for r in removals]
    finally:
        if own:
            cluster.close()


def _path_or_none(value: Any) -> Any:
    from pathlib import Path

    return Path(str(value)) if value else None
