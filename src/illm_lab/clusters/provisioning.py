"""Providing clusters inside a ledger run, and removing the ones lab created.

`provision()` is what the conduct pipeline's "clusters" step and `lab hub bootstrap` call for a
role whose target asks for a provider: the ledger records the intent (`create=True`, provider,
name, the kubeconfig path lab will write) *before* the provider starts, and the result after, so
a cluster whose create died half-way is still found by `lab down` / `lab hub destroy`, which call
`remove_created()` after deleting the objects. A cluster chosen as `existing` is never recorded as
created, so nothing here can delete it.

`resolve_default()` turns `provider: default` into a concrete provider (adrs/0005): a local Talos
cluster when talosctl and a Docker engine are there, kind when only kind is, the kubeconfig's
current context when Docker is not running, else a one-line error saying what to install.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from illm_lab.base.errors import ToolError, UsageError
from illm_lab.clusters import registry
from illm_lab.clusters.base import ClusterRemoval, Note, Provider, Removal, Request, quiet
from illm_lab.config import labconfig
from illm_lab.config.selection import DEFAULT, EXISTING, Target
from illm_lab.model.labconfig import LabConfig
from illm_lab.model.sizes import SIZES

if TYPE_CHECKING:
    from illm_lab.ledger import Ledger, Run


def providers() -> dict[str, type[Provider]]:
    from illm_lab.clusters.existing import Existing
    from illm_lab.clusters.kind import Kind
    from illm_lab.clusters.metal import TalosMetal
    from illm_lab.clusters.talos import Talos

    return {p.name: p for p in (Talos, TalosMetal, Kind, Existing)}


def get(name: str, config: labconfig.Loaded | None = None) -> Provider:
    loaded = config or labconfig.load()
    known = providers()
    if name not in known:
        raise UsageError(f"unknown cluster provider {name!r}; one of: {', '.join(sorted(known))}")
    return known[name](loaded.config, loaded.where)


def resolve_default(config: LabConfig | None = None) -> tuple[str, str]:
    """(provider, why) for `provider: default` on this machine."""
    from illm_lab.tools import docker

    has_talosctl = shutil.which("talosctl") is not None
    has_kind = shutil.which("kind") is not None
    docker_ok = (has_talosctl or has_kind) and docker.available()
    if docker_ok and has_talosctl:
        return "talos", "talosctl and Docker found: a local Talos cluster"
    if docker_ok and has_kind:
        return "kind", "talosctl not found: a kind cluster instead"
    context = _current_context(config)
    if context:
        why = "no Docker engine" if (has_talosctl or has_kind) else "neither talosctl nor kind found"
        return EXISTING, f"{why}: using the kubeconfig's current context {context!r}"
    if has_talosctl or has_kind:
        raise ToolError(
            "no cluster to run on: Docker is not running (docker info failed) and no kubeconfig "
            "context is set; start Docker, or pass --context, or set providers/contexts in the "
            "lab config"
        )
    raise ToolError(
        "no cluster to run on: install Docker with talosctl (or kind) so lab can create one, or "
        "pass --context / --kubeconfig for an existing cluster, or set providers/contexts in the "
        "lab config"
    )


def _current_context(config: LabConfig | None) -> str | None:
    """The current context of the kubeconfig lab would use (read as YAML; no `kubernetes`)."""
    from illm_lab.base.errors import InputError
    from illm_lab.base.yamlio import load_file

    explicit = config.kubeconfig if config else None
    raw = explicit or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    for part in str(raw).split(os.pathsep):
        path = Path(part).expanduser()
        if not path.is_file():
            continue
        try:
            data = load_file(path, what="kubeconfig").data
        except InputError:
            continue
        if isinstance(data, dict) and data.get("current-context"):
            return str(data["current-context"])
    return None


def provision(
    run: Run,
    role: str,
    target: Target,
    *,
    config: labconfig.Loaded | None = None,
    note: Note = quiet,
) -> Target:
    """Make the cluster of `target` exist (when it asks for a provider) and return the target
    that reaches it. Raises ToolError (exit 3) when the provider fails; the ledger then holds
    the intent and the failure, so the half-created cluster can be removed."""
    if not target.creates:
        return target
    loaded = config or labconfig.load()
    name = target.provider
    if name == DEFAULT:
        name, why = resolve_default(loaded.config)
        note(f"{role} cluster: {why}")
        if name == EXISTING:
            kubeconfig = loaded.config.kubeconfig
            return replace(target, provider=EXISTING, context=None, source=f"{target.source}: {why}",
                           kubeconfig=Path(kubeconfig).expanduser() if kubeconfig else None)
    provider = get(name, loaded)
    cluster = target.name or f"{run.data.get('instance')}-{role}"
    size = SIZES[target.size]
    path = registry.kubeconfig_path(cluster)
    run.cluster_intent(role, kubeconfig=str(path), provider=name, name=cluster, create=True)
    try:
        attached = provider.create(
            Request(name=cluster, role=role, size=size, owner=str(run.data.get("instance", ""))),
            note,
        )
    except BaseException as exc:
        run.cluster_result(role, ok=False, error=str(exc) or type(exc).__name__)
        raise
    run.cluster_result(role, ok=True, kubeconfig=str(attached.kubeconfig), context=attached.context,
                       reused=attached.reused)
    return replace(target, provider=name, name=cluster, kubeconfig=attached.kubeconfig,
                   context=attached.context)


def preflight(
    role: str, target: Target, instance: str, *, config: labconfig.Loaded | None = None
) -> tuple[Target, str | None]:
    """What `provision` would do, without doing it (`--dry-run`): (the target to reach now, or
    the same target when a cluster would be created; what would be created, or None). Raises
    what `provision` would raise for a missing tool, engine or node list."""
    if not target.creates:
        return target, None
    loaded = config or labconfig.load()
    name = target.provider
    if name == DEFAULT:
        name, why = resolve_default(loaded.config)
        if name == EXISTING:
            kubeconfig = loaded.config.kubeconfig
            return replace(target, provider=EXISTING, context=None, source=f"{target.source}: {why}",
                           kubeconfig=Path(kubeconfig).expanduser() if kubeconfig else None), None
        target = replace(target, provider=name, source=f"{target.source}: {why}")
    cluster = target.name or f"{instance}-{role}"
    request = Request(name=cluster, role=role, size=SIZES[target.size], owner=instance)
    return target, get(name, loaded).preflight(request)


def remove_created(
    run: Run,
    ledger: Ledger,
    instance: str,
    *,
    config: labconfig.Loaded | None = None,
    note: Note = quiet,
    roles: Callable[[str], bool] | None = None,
) -> list[ClusterRemoval]:
    """Delete every cluster the runs of `instance` created (half-created ones included) and
    record each removal in `run`. `existing` clusters are never among them."""
    loaded = config or labconfig.load()
    removed: list[ClusterRemoval] = []
    for role, cluster in sorted(ledger.created_clusters(instance).items()):
        provider_name, name = str(cluster.get("provider") or ""), str(cluster["name"])
        if provider_name in ("", EXISTING, DEFAULT) or (roles is not None and not roles(role)):
            continue
        action: Removal = get(provider_name, loaded).delete(name, note)
        run.cluster_deleted(role, name=name, provider=provider_name, kept=action == "kept")
        removed.append(ClusterRemoval(role, name, action, provider_name))
    return removed


def delete_by_name(name: str, *, config: labconfig.Loaded | None = None, note: Note = quiet) -> Removal:
    """Delete a cluster lab's state dir knows (its record names the provider), ledger or not."""
    record = registry.read(name)
    if record is None or record.get("provider") in (None, EXISTING):
        return "gone"
    return get(str(record["provider"]), config).delete(name, note)
