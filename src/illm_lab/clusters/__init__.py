"""Cluster providers: where the clusters of an experiment and of the hub come from.

Four providers behind one interface (`base.Provider`: create, delete, exists, kubeconfig,
health): `talos` (local Talos in Docker via talosctl), `talos-metal` (existing Talos nodes from
the lab config), `kind`, and `existing` (any kubeconfig context, never deleted). Which one a role
uses is decided by `illm_lab.targets` (flags > lab config > manifest); see
adrs/0005-talos-default-with-kind-fallback.md.

Public API:

- `provision(run, role, target)` — inside a ledger run: record the intent, create or reuse the
  cluster, return the Target that reaches it (kubeconfig lab wrote, its context).
- `preflight(role, target, instance)` — what `provision` would do, without doing it (`--dry-run`).
- `remove_created(run, ledger, instance)` — delete the clusters the instance's runs created.
- `resolve_default()`, `get(name)`, `providers()`, `kubeconfig_of(name)`, `health.check(...)`.

Tools are called only through `illm_lab.tools`; the API only through `illm_lab.kube`, imported
lazily, so importing this package stays cheap.
"""

from __future__ import annotations

from illm_lab.clusters.base import Attached, ClusterRemoval, Health, Provider, Removal, Request
from illm_lab.clusters.provisioning import (
    delete_by_name,
    get,
    preflight,
    providers,
    provision,
    remove_created,
    resolve_default,
)
from illm_lab.clusters.registry import kubeconfig_path as kubeconfig_of

__all__ = [
    "Attached",
    "ClusterRemoval",
    "Health",
    "Provider",
    "Removal",
    "Request",
    "delete_by_name",
    "get",
    "kubeconfig_of",
    "preflight",
    "providers",
    "provision",
    "remove_created",
    "resolve_default",
]
