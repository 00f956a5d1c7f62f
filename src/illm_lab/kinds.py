"""What we know offline about built-in Kubernetes kinds.

Rendering needs to know, without a cluster, whether a kind is namespaced (to fill in the
component's namespace) and checks may name a kind without its apiVersion. Custom kinds are
learnt from the CRDs found in the same render; the engine asks discovery for anything else.
"""

from __future__ import annotations

from typing import Any

CLUSTER_SCOPED = frozenset(
    {
        "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding",
        "ComponentStatus", "CSIDriver", "CSINode", "CustomResourceDefinition", "FlowSchema",
        "IngressClass", "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume",
        "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass", "StorageClass",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration", "VolumeAttachment", "GatewayClass", "ClusterIssuer",
        "ClusterPolicy", "ClusterSecretStore", "ClusterWorkflowTemplate",
    }
)

DEFAULT_API_VERSIONS: dict[str, str] = {
    "Pod": "v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1", "Namespace": "v1",
    "ServiceAccount": "v1", "PersistentVolumeClaim": "v1", "Node": "v1", "Endpoints": "v1",
    "Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1",
    "Ingress": "networking.k8s.io/v1", "NetworkPolicy": "networking.k8s.io/v1",
    "CustomResourceDefinition": "apiextensions.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1", "PodMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}

SECRET_KINDS = frozenset({"Secret"})


def api_version_of(kind: str) -> str | None:
    return DEFAULT_API_VERSIONS.get(kind)


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def crd_scopes(objects: list[dict[str, Any]]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for every CRD among `objects`."""
    scopes: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            names = spec.get("names") or {}
            if isinstance(names, dict) and names.get("kind"):
                scopes[(str(spec.get("group", "")), str(names["kind"]))] = (
                    spec.get("scope", "Namespaced") == "Namespaced"
                )
    return scopes


def is_namespaced(obj: dict[str, Any], crds: dict[tuple[str, str], bool]) -> bool | None:
    """True/False when known offline, None when only the cluster can tell."""
    kind = str(obj.get("kind", ""))
    group = group_of(str(obj.get("apiVersion", "")))
    if (group, kind) in crds:
        return crds[(group, kind)]
    if kind in CLUSTER_SCOPED:
        return False
    if kind in DEFAULT_API_VERSIONS:
        return True
    return None
