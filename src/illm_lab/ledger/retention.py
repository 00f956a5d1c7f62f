"""Which runs the ledger may forget: old finished runs that no longer hold anything.

Readers replay the runs of an instance oldest first, and for every object and every created
cluster the newest record wins. A run therefore still matters while it holds the newest record
of an object that may be present, of a cluster lab created and has not deleted, or of where to
reach a cluster role with objects left on it. Every other run is history: once it is older than
the newest `keep` finished runs of its instance, forgetting it changes no answer `lab down`,
prune or `lab status` gives. A run still `running` (in progress, or killed) is never forgotten.
"""

from __future__ import annotations

from illm_lab.base.identity import ObjectRef
from illm_lab.ledger.records import CLUSTER_RELEASED, GONE_STATES, RUNNING, RunRecord

KEEP_FINISHED = 20


def forgettable(newest_first: list[RunRecord], keep: int = KEEP_FINISHED) -> list[RunRecord]:
    """The runs of one instance (newest first) that can be deleted."""
    holding = _holding(newest_first)
    finished = [r for r in newest_first if r.state != RUNNING]
    return [r for r in finished[max(keep, 0):] if id(r) not in holding]


def _holding(newest_first: list[RunRecord]) -> set[int]:
    """ids of the runs that hold the newest record of something still there."""
    holding: set[int] = set()
    seen_objects: set[tuple[str, str]] = set()
    decided_clusters: set[str] = set()
    roles_with_objects: set[str] = set()
    for rec in newest_first:
        for obj in rec.objects:
            key = (str(obj.get("cluster")), ObjectRef.from_dict(obj).key)
            if key in seen_objects:
                continue
            seen_objects.add(key)
            if obj.get("state") not in GONE_STATES:
                holding.add(id(rec))
                roles_with_objects.add(key[0])
        for role, cluster in rec.clusters.items():
            if role in decided_clusters:
                continue
            if cluster.get("state") in CLUSTER_RELEASED:
                decided_clusters.add(role)
            elif cluster.get("create") and cluster.get("name"):
                decided_clusters.add(role)
                holding.add(id(rec))
    located: set[str] = set()
    for rec in newest_first:  # the newest record of where each role with objects left is
        for role in set(rec.clusters) & (roles_with_objects - located):
            located.add(role)
            holding.add(id(rec))
    return holding
