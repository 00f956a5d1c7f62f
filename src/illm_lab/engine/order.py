"""The order objects are applied in, and the reverse order they are deleted in.

Phases: CRDs (then wait until Established, so their kinds exist) → Namespaces → other
cluster-scoped objects (ClusterRoles, StorageClasses, webhooks, ...) → namespaced objects.
Objects within one phase do not depend on each other's existence and are applied concurrently.
Deletion walks the phases backwards: namespaced objects first, CRDs last (deleting a CRD deletes
its custom resources, and deleting a Namespace everything in it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import Any, TypeVar

T = TypeVar("T")


class Phase(IntEnum):
    CRDS = 0
    NAMESPACES = 1
    CLUSTER = 2
    NAMESPACED = 3


def phase_of(obj: dict[str, Any], namespaced: bool | None) -> Phase:
    """The phase of `obj`; `namespaced` as known from the CRDs at hand or discovery."""
    kind = obj.get("kind")
    if kind == "CustomResourceDefinition":
        return Phase.CRDS
    if kind == "Namespace":
        return Phase.NAMESPACES
    return Phase.NAMESPACED if namespaced else Phase.CLUSTER


def phased(items: Iterable[T], phase: Callable[[T], Phase]) -> list[tuple[Phase, list[T]]]:
    """`items` grouped by phase, in apply order; empty phases left out."""
    groups: dict[Phase, list[T]] = {}
    for item in items:
        groups.setdefault(phase(item), []).append(item)
    return [(p, groups[p]) for p in sorted(groups)]


def deletion_phases(items: Iterable[T], phase: Callable[[T], Phase]) -> list[tuple[Phase, list[T]]]:
    """`items` grouped by phase, in delete order (the reverse of apply order)."""
    return list(reversed(phased(items, phase)))
