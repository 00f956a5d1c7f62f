"""The provider interface: every way of getting a cluster looks the same to the lifecycle.

A provider creates (idempotently: an existing healthy cluster of that name is reused, a
half-created one is removed first), deletes, says whether a cluster exists, where its kubeconfig
is, and how healthy it is. Providers call their tools only through `illm_lab.tools` and keep
credentials in the cluster's private folder (`clusters/registry.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from illm_lab.base.errors import UsageError
from illm_lab.clusters import registry
from illm_lab.model.labconfig import LabConfig
from illm_lab.model.sizes import Size

Note = Callable[[str], None]
Removal = Literal["deleted", "gone", "kept"]


def quiet(_message: str) -> None:
    """A Note that says nothing."""


@dataclass(frozen=True)
class ClusterRemoval:
    """A cluster lab created for a role, deleted (or found gone, or kept by its provider)."""

    cluster: str  # the role
    name: str
    action: Removal
    provider: str | None = None  # None: deleted by name, its provider read from lab's state dir

    def as_dict(self) -> dict[str, str]:
        provider = {"provider": self.provider} if self.provider is not None else {}
        return {"cluster": self.cluster, "name": self.name, **provider, "action": self.action}


@dataclass(frozen=True)
class Request:
    """One cluster to provide: its name, the role it serves and its size."""

    name: str
    role: str
    size: Size
    owner: str = ""  # the experiment instance it belongs to


@dataclass(frozen=True)
class Attached:
    """A cluster that exists: how to reach it (the kubeconfig lab wrote, its context)."""

    kubeconfig: Path
    context: str | None
    reused: bool = False


@dataclass(frozen=True)
class Health:
    reachable: bool
    version: str | None = None
    nodes: int = 0
    ready_nodes: int = 0
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.reachable and self.nodes > 0 and self.ready_nodes == self.nodes

    def as_dict(self) -> dict[str, Any]:
        return {"reachable": self.reachable, "version": self.version, "nodes": self.nodes,
                "readyNodes": self.ready_nodes, "ok": self.ok, "message": self.message}


class Provider(ABC):
    """One kind of cluster. `creates` is False only for `existing`: lab never deletes those."""

    name: ClassVar[str]
    creates: ClassVar[bool] = True

    def __init__(self, config: LabConfig | None = None, config_where: str = "the lab config") -> None:
        self.config = config or LabConfig()
        self.config_where = config_where

    @abstractmethod
    def create(self, request: Request, note: Note = quiet) -> Attached:
        """Make the cluster exist and be reachable; reuse it when it already does."""

    @abstractmethod
    def delete(self, name: str, note: Note = quiet) -> Removal:
        """Remove the cluster and what lab kept for it; `gone` when there was nothing."""

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether anything of the cluster exists (a half-created one counts)."""

    def preflight(self, request: Request) -> str:
        """What `create` would do for `request`, checked as far as it can be without creating
        anything (`--dry-run`): raises what `create` would raise for a missing tool or engine."""
        return f"would create {self.name} cluster {request.name}"

    def kubeconfig(self, name: str) -> Path:
        """The kubeconfig lab wrote for the cluster."""
        path = registry.kubeconfig_path(name)
        if not path.is_file():
            raise UsageError(f"lab has no kubeconfig for cluster {name} (was it created by lab?)")
        return path

    def health(self, name: str) -> Health:
        from illm_lab.clusters.health import check

        return check(self.kubeconfig(name), registry.current_context(self.kubeconfig(name)))
