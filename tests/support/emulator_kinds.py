"""Per-kind behaviour of the emulator: API-server defaulting and the statuses a controller writes.

Why only a handful of defaults: the emulator stands in for the API server, not for its schemas.
It applies the defaults that clients *observe* and that make idempotence checks realistic
(`replicas: 1`, Service `clusterIP`/`protocol`/`targetPort`, Secret `stringData` folded into
`data`, Namespace `spec.finalizers`), so an applier that forgets a field sees what it would see on
a real cluster. Everything else is stored as sent.

The *ready* statuses are what kube-controller-manager and kubelet would eventually write, with the
fields readiness checks look at (`kubectl rollout status`, `kubectl wait`, helm's `--wait`).
The tests play the controllers, through `LabEmulator.auto_ready` or `set_status`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

READY_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "Pod",
        "CustomResourceDefinition",
        "PersistentVolumeClaim",
    }
)


def _containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in pod_spec.get("containers") or [] if isinstance(c, dict)]


def _default_pod_spec(spec: dict[str, Any]) -> None:
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if not isinstance(container, dict):
                continue
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")


def _template_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    template = (obj.get("spec") or {}).get("template")
    spec = template.get("spec") if isinstance(template, dict) else None
    return spec if isinstance(spec, dict) else None


def apply_defaults(
    kind: str,
    obj: dict[str, Any],
    live: dict[str, Any] | None,
    allocate_ip: Callable[[], str],
) -> None:
    """Default fields the way the API server does on every write (mutates `obj`)."""
    spec = obj.get("spec")
    if kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
    elif kind == "Job" and isinstance(spec, dict):
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
    elif kind == "Pod" and isinstance(spec, dict):
        _default_pod_spec(spec)
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            old_ip = ((live or {}).get("spec") or {}).get("clusterIP")
            if not spec.get("clusterIP"):
                spec["clusterIP"] = old_ip or allocate_ip()
            if spec["clusterIP"] != "None":
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
    template = _template_spec(obj)
    if template is not None:
        _default_pod_spec(template)


def initial_status(kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The status a freshly created object of a kind with a status subresource carries."""
    if kind == "Namespace":
        return {"phase": "Active"}
    if kind == "Pod":
        return {"phase": "Pending", "qosClass": "BestEffort"}
    if kind == "PersistentVolumeClaim":
        return {"phase": "Pending"}
    if kind == "Service":
        return {"loadBalancer": {}}
    return None


def _condition(ctype: str, now: str, reason: str, message: str = "") -> dict[str, Any]:
    cond = {
        "type": ctype,
        "status": "True",
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }
    return cond


def established_status(obj: dict[str, Any], now: str) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    storage = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
    return {
        "acceptedNames": copy.deepcopy(spec.get("names") or {}),
        "conditions": [
            _condition("NamesAccepted", now, "NoConflicts", "no conflicts found for installed names"),
            _condition("Established", now, "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": storage,
    }


def _has_true(obj: dict[str, Any], ctype: str) -> bool:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == ctype and cond.get("status") == "True":
            return True
    return False


def needs_ready(kind: str, obj: dict[str, Any]) -> bool:
    """Whether a controller would still have to write a ready status for this object."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return False
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        return status.get("observedGeneration") != meta.get("generation") or (
            kind == "Deployment" and not _has_true(obj, "Available")
        )
    if kind == "Job":
        return not _has_true(obj, "Complete")
    if kind == "Pod":
        return status.get("phase") != "Running" or not _has_true(obj, "Ready")
    if kind == "CustomResourceDefinition":
        return not _has_true(obj, "Established")
    if kind == "PersistentVolumeClaim":
        return status.get("phase") != "Bound"
    return False


def template_hash(template: Any) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def replicaset_for(deploy: dict[str, Any]) -> dict[str, Any]:
    """The ReplicaSet the deployment controller would create for the current pod template."""
    meta, spec = deploy["metadata"], deploy.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    digest = template_hash(template)
    labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": digest}
    template.setdefault("metadata", {})["labels"] = labels
    selector = copy.deepcopy(spec.get("selector") or {})
    selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{digest}",
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "spec": {"replicas": spec.get("replicas", 1), "selector": selector, "template": template},
    }


def _revision(obj: dict[str, Any]) -> str:
    name = (obj.get("metadata") or {}).get("name", "x")
    digest = hashlib.sha256(repr((obj.get("spec") or {}).get("template")).encode()).hexdigest()
    return f"{name}-{digest[:10]}"


def ready_status(kind: str, obj: dict[str, Any], now: str, pod_ip: str) -> dict[str, Any]:
    """The status a healthy controller (or kubelet) would write for this object."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    generation = meta.get("generation", 1)
    status: dict[str, Any] = dict(obj.get("status") or {})
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        replicas = spec.get("replicas", 1)
        status.update(observedGeneration=generation, replicas=replicas)
        counters = {
            "Deployment": ("readyReplicas", "availableReplicas", "updatedReplicas"),
            "StatefulSet": ("readyReplicas", "availableReplicas", "updatedReplicas", "currentReplicas"),
            "ReplicaSet": ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"),
        }[kind]
        for key in counters:
            status.pop(key, None)  # the API server omits zero counters
            if replicas:
                status[key] = replicas
        if kind == "Deployment":
            status["conditions"] = [
                _condition("Available", now, "MinimumReplicasAvailable", "Deployment has minimum availability."),
                _condition("Progressing", now, "NewReplicaSetAvailable",
                           f'ReplicaSet "{meta.get("name")}" has successfully progressed.'),
            ]
        if kind == "StatefulSet":
            revision = _revision(obj)
            status.update(currentRevision=revision, updateRevision=revision, collisionCount=0)
    elif kind == "DaemonSet":
        status.update(
            observedGeneration=generation,
            desiredNumberScheduled=1,
            currentNumberScheduled=1,
            updatedNumberScheduled=1,
            numberReady=1,
            numberAvailable=1,
            numberMisscheduled=0,
        )
    elif kind == "Job":
        completions = spec.get("completions", 1) or 1
        status.update(
            startTime=status.get("startTime", now),
            completionTime=now,
            succeeded=completions,
            active=0,
            ready=0,
            conditions=[
                _condition("SuccessCriteriaMet", now, "CompletionsReached", "Reached expected number of succeeded pods"),
                _condition("Complete", now, "CompletionsReached", "Reached expected number of succeeded pods"),
            ],
        )
        status.pop("failed", None)
    elif kind == "Pod":
        status.update(
            phase="Running",
            podIP=pod_ip,
            podIPs=[{"ip": pod_ip}],
            hostIP="10.0.0.1",
            startTime=status.get("startTime", now),
            conditions=[
                _condition(t, now, "")
                for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            containerStatuses=[
                {
                    "name": c.get("name"),
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                }
                for c in _containers(spec)
            ],
        )
        for cond in status["conditions"]:
            cond.pop("reason")
            cond.pop("message")
    elif kind == "CustomResourceDefinition":
        status.update(established_status(obj, now))
    elif kind == "PersistentVolumeClaim":
        resources = (spec.get("resources") or {}).get("requests") or {}
        status.update(
            phase="Bound",
            accessModes=spec.get("accessModes") or ["ReadWriteOnce"],
            capacity={"storage": resources.get("storage", "1Gi")},
        )
    return status


def custom_resource_definition(
    group: str, kind: str, versions: list[str], *, namespaced: bool, plural: str | None = None
) -> dict[str, Any]:
    """A CRD serving `kind` at `versions` (the first one stored) with a schema that keeps every
    field: what an operator installs, for the emulator to play it (`LabEmulator.install_crds`).
    The plural is the usual English one unless given; clients find it through discovery."""
    lower = kind.lower()
    plural = plural or (lower[:-1] + "ies" if lower.endswith("y") else
                        lower + "es" if lower.endswith(("s", "x", "ch", "sh")) else lower + "s")
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group, "scope": "Namespaced" if namespaced else "Cluster",
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": lower},
            "versions": [{"name": v, "served": True, "storage": i == 0, "schema": schema,
                          "subresources": {"status": {}}} for i, v in enumerate(versions)],
        },
    }
