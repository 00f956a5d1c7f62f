"""What holds an object that is being deleted, and — only when asked — letting go of it.

A deletion that does not finish is nearly always one of three things, and each needs a different
action from the user, so the teardown report names which:
- a finalizer nobody removes (a controller that is gone, an operator uninstalled first): the
  object, or for a Namespace the content inside it, carries its name;
- a pod whose node does not answer: only the kubelet confirms a pod stopped, so with the kubelet
  down pods stay Terminating and so does everything waiting for them (their Deployment in a
  foreground delete, their Namespace);
- a controller still working (nothing to do but wait longer).

Finalizers are never removed unless the user asks (`lab down --force-finalizers`): a finalizer
usually guards something outside the cluster (a load balancer, a volume, a DNS record) that
removing it would strand. Even then an object first gets `FORCE_GRACE` seconds for its
controller to finish normally.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from illm_lab.base.errors import LabError
from illm_lab.base.identity import ObjectRef
from illm_lab.engine import nodes
from illm_lab.kube import Cluster
from illm_lab.kube import errors as kerrors

Obj = dict[str, Any]

FORCE_GRACE = 15.0  # seconds a held object gets before --force-finalizers lets go of it
_NAMESPACE_CONDITIONS = ("NamespaceFinalizersRemaining", "NamespaceContentRemaining")
FORCE_HINT = "`lab down --force-finalizers` removes them"


def explain(cluster: Cluster, ref: ObjectRef, last: Obj | None) -> str:
    """One line: what holds `ref` (whose last seen version is `last`), from what the server
    says about it, its content and the nodes of its pods. Never raises."""
    parts: list[str] = []
    try:  # first: the cause the user can least see, and the message is clipped at its end
        stuck = _stuck_pod(cluster, ref, last)
    except LabError:
        stuck = None
    if stuck:
        parts.append(stuck)
    finalizers = _holding(last)
    if finalizers:
        parts.append(f"held by finalizer {', '.join(finalizers)}; {FORCE_HINT}")
    if ref.kind == "Namespace" and not ref.namespace:
        parts += _namespace_conditions(last)
    if not parts and "foregroundDeletion" in _finalizers(last):
        parts.append("waiting for its dependents to be deleted first (foreground deletion)")
    return "; ".join(parts) or "no finalizer holds it: its controller has not finished yet"


def let_go(cluster: Cluster, ref: ObjectRef, last: Obj | None) -> list[str]:
    """Remove the finalizers holding `ref` — its own, or for a Namespace those of every object
    in it that is being deleted — and say what was removed from what, one line each."""
    done: list[str] = []
    if _holding(last) and cluster.remove_finalizers(ref):
        done.append(f"removed finalizer {', '.join(_holding(last))} from {ref}")
    if ref.kind == "Namespace" and not ref.namespace:
        for obj in held_content(cluster, ref.name):
            held = ObjectRef.of(obj)
            if cluster.remove_finalizers(held):
                done.append(f"removed finalizer {', '.join(_finalizers(obj))} from {held}")
    return done


def held_content(cluster: Cluster, namespace: str) -> Iterator[Obj]:
    """The objects in `namespace` being deleted and held by finalizers (every namespaced kind
    the server lists; one that cannot be listed is passed over)."""
    for res in cluster.namespaced_resources():
        try:
            items = cluster.list(res.api_version, res.kind, namespace)
        except LabError:
            continue
        for obj in items:
            meta = obj.get("metadata") or {}
            if meta.get("deletionTimestamp") and meta.get("finalizers"):
                yield obj


def _finalizers(obj: Obj | None) -> list[str]:
    return [str(f) for f in ((obj or {}).get("metadata") or {}).get("finalizers") or []]


def _holding(obj: Obj | None) -> list[str]:
    """The finalizers that hold an object for something other than its own dependents."""
    return [f for f in _finalizers(obj) if f != "foregroundDeletion"]


def _namespace_conditions(namespace: Obj | None) -> list[str]:
    conditions = ((namespace or {}).get("status") or {}).get("conditions") or []
    told = [c for c in conditions if c.get("type") in _NAMESPACE_CONDITIONS and c.get("status") == "True"]
    told.sort(key=lambda c: _NAMESPACE_CONDITIONS.index(c["type"]))
    out = [str(c.get("message") or c.get("reason")) for c in told]
    if any(c.get("type") == "NamespaceFinalizersRemaining" for c in told):
        out.append(FORCE_HINT)
    return out


def _stuck_pod(cluster: Cluster, ref: ObjectRef, last: Obj | None) -> str | None:
    """The first pod being deleted in the object's namespace (or the object itself, a Pod)
    whose node does not report: why Deployments, Jobs and Namespaces wait on it."""
    namespace = ref.name if ref.kind == "Namespace" and not ref.namespace else ref.namespace
    if not namespace:
        return None
    pods = [last] if ref.kind == "Pod" and last else cluster.list("v1", "Pod", namespace)
    asked: dict[str, str | None] = {}  # node -> its silence: asked once, however many pods
    for pod in pods:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        node_name = spec.get("nodeName")
        if not meta.get("deletionTimestamp") or not node_name:
            continue
        if str(node_name) not in asked:
            asked[str(node_name)] = nodes.silence(cluster, str(node_name))
        silent = asked[str(node_name)]
        if silent:
            return (f"pod {namespace}/{meta.get('name')} is Terminating on node {node_name}, "
                    f"{silent}: only its kubelet can confirm the pod stopped")
    return None


def timed_out(exc: kerrors.WaitTimeout, cluster: Cluster, ref: ObjectRef) -> str:
    """The message of a deletion that did not finish: how long, and what holds it."""
    waited = str(exc).split(";", 1)[0]
    return f"{waited}: {explain(cluster, ref, exc.last)}"
