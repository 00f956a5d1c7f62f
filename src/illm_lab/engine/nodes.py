"""Whether a node's kubelet is still reporting: the cause a wait or a deletion cannot see itself.

Only the kubelet starts a pod's containers and confirms that a deleted pod stopped. When it is
gone, pods bound to its node stay Pending (never Ready) or Terminating for ever, and a wait
reports only "phase Pending" — true, and of no help. The kubelet renews its Lease in
`kube-node-lease` every quarter of the lease's duration (10 s by default); the Ready condition's
heartbeat may be minutes old on a healthy node (status is posted on change, or every 5 minutes),
so the lease is what tells, and two missed renewals are enough to say so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from illm_lab.base.errors import LabError
from illm_lab.kube import Cluster

Obj = dict[str, Any]


def silence(cluster: Cluster, name: str) -> str | None:
    """How the node `name` is not reporting, as the end of a sentence about it ("whose kubelet
    ..."), or None when its kubelet reports (or nothing can be read: no right to, say)."""
    try:
        node = cluster.get("v1", "Node", name)
        lease = cluster.get("coordination.k8s.io/v1", "Lease", name, "kube-node-lease")
    except LabError:
        return None
    if node is None:
        return "which no longer exists"
    spec = (lease or {}).get("spec") or {}
    renewed = age(spec.get("renewTime"))
    duration = float(spec.get("leaseDurationSeconds") or 40)
    if renewed is not None and renewed > duration / 2:
        return f"whose kubelet last renewed its lease {renewed:.0f}s ago (due every {duration / 4:.0f}s)"
    ready = next((c for c in (node.get("status") or {}).get("conditions") or []
                  if c.get("type") == "Ready"), None)
    if ready is not None and ready.get("status") != "True":
        return f"which is not Ready ({ready.get('message') or ready.get('reason')})"
    return None


def silent_nodes(cluster: Cluster, pods: Iterable[Obj]) -> list[str]:
    """`node X, whose kubelet ...` for every silent node the pods are bound to."""
    names = sorted({str((p.get("spec") or {}).get("nodeName")) for p in pods
                    if (p.get("spec") or {}).get("nodeName")})
    out = []
    for name in names:
        told = silence(cluster, name)
        if told:
            out.append(f"node {name}, {told}")
    return out


def age(stamp: Any) -> float | None:
    """Seconds since an RFC 3339 time of the API server (None: not a time)."""
    try:
        when = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return (dt.datetime.now(dt.UTC) - when).total_seconds()
