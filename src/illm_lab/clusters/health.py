"""How healthy a cluster is, asked through the API: reachable, its version, its nodes Ready."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from illm_lab.base.errors import LabError
from illm_lab.clusters.base import Health

if TYPE_CHECKING:
    from illm_lab.kube import Cluster

MIN_VERSION = (1, 28)  # the oldest Kubernetes lab supports (DESIGN.md)


def check(kubeconfig: Path | None, context: str | None) -> Health:
    from illm_lab import kube

    try:
        with kube.connect(kubeconfig, context) as cluster:
            return of(cluster)
    except LabError as exc:
        return Health(False, message=str(exc))


def of(cluster: Cluster) -> Health:
    """Health of an open `kube.Cluster`; a failure to list nodes is reported, not raised."""
    try:
        version = cluster.server_version()
    except LabError as exc:
        return Health(False, message=str(exc))
    try:
        nodes = cluster.list("v1", "Node")
    except LabError as exc:
        return Health(True, version, message=f"cannot list nodes: {exc}")
    ready = sum(1 for n in nodes if _ready(n))
    message = f"{ready}/{len(nodes)} nodes ready"
    if too_old(version):
        message += f"; Kubernetes {version} is older than {'.'.join(map(str, MIN_VERSION))}"
    return Health(True, version, len(nodes), ready, message)


def too_old(version: str | None) -> bool:
    parts = (version or "").lstrip("v").split(".")
    try:
        return (int(parts[0]), int(parts[1].rstrip("+"))) < MIN_VERSION
    except (IndexError, ValueError):
        return False


def _ready(node: dict[str, object]) -> bool:
    status = node.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
               for c in conditions or [])
