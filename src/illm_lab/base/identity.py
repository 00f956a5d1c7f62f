"""The identity of a Kubernetes object, shared by the engine, the ledger and the kube adapter.

It lives below every layer (no I/O, no `kubernetes`) so the ledger can record and compare object
identities without importing the API client, and `lab down` can read a ledger cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class ObjectRef:
    """apiVersion, kind, namespace (None when cluster-scoped) and name of one object."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(
            api_version=str(obj.get("apiVersion", "")),
            kind=str(obj.get("kind", "")),
            name=str(meta.get("name", "")),
            namespace=meta.get("namespace") or None,
        )

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    @property
    def key(self) -> str:
        """A stable string key: `group/Kind/namespace/name` (version-independent)."""
        return f"{self.group}/{self.kind}/{self.namespace or ''}/{self.name}"

    def as_dict(self) -> dict[str, str]:
        out = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name}
        if self.namespace:
            out["namespace"] = self.namespace
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectRef:
        return cls(
            api_version=str(data["apiVersion"]), kind=str(data["kind"]), name=str(data["name"]),
            namespace=data.get("namespace") or None,
        )

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"
