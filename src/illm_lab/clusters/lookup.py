"""`lab kubeconfig <exp>`: the kubeconfig lab wrote for an experiment's cluster, so a learner can
point kubectl or k9s at the cluster a tutorial is about. Only the path is ever shown, never the
file's content (it holds credentials)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from illm_lab.base.errors import UsageError
from illm_lab.clusters import registry
from illm_lab.config.selection import cluster_name

HUB = "hub"


@dataclass(frozen=True)
class Found:
    name: str
    role: str
    path: Path
    context: str | None
    provider: str | None


def find(experiment: str, role: str = "target", instance: str | None = None) -> Found:
    """The kubeconfig of `experiment`'s `role` cluster (`hub` names the hub cluster)."""
    from illm_lab.engine.inventory import instance_id
    from illm_lab.ledger import Ledger

    if experiment == HUB:
        name, role, owner = "lab-hub", "hub", "lab-hub"
    else:
        owner = instance_id(experiment, instance)
        name = cluster_name(owner, role)
    path = registry.kubeconfig_path(name)
    record = registry.read(name) or {}
    if path.is_file():
        return Found(name, role, path, registry.current_context(path), record.get("provider"))
    run = Ledger().latest(owner, role=role)
    used = run.clusters.get(role) if run else None
    if used and not used.get("create"):
        where = f"context {used.get('context') or '(current)'} of {used.get('kubeconfig') or '$KUBECONFIG'}"
        raise UsageError(f"{experiment}'s {role} cluster was not created by lab: it is {where}")
    hint = "lab hub bootstrap" if experiment == HUB else f"lab conduct {experiment} --keep"
    state = f" (its create {record['state']})" if record.get("state") in ("creating", "failed") else ""
    raise UsageError(f"lab has no kubeconfig for cluster {name}{state}; create it with `{hint}`")
