"""What we know offline about built-in Kubernetes kinds.

Rendering needs to know, without a cluster, whether a kind is namespaced (to fill in the
component's namespace) and checks may name a kind without its apiVersion. Custom kinds are
learnt from the CRDs found in the same render; the engine asks discovery for anything else.
"""

from __future__ import annotations

import re
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

# The API groups Kubernetes serves itself; any other group is a custom resource's (a CRD's or an
# aggregated API's). Some CRDs take *.k8s.io groups (Gateway API, volume snapshots): not listed.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "extensions",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
    "authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io", "networking.k8s.io", "node.k8s.io", "rbac.authorization.k8s.io",
    "resource.k8s.io", "scheduling.k8s.io", "storage.k8s.io", "storagemigration.k8s.io",
})


def is_custom(api_version: str) -> bool:
    """Whether objects of `api_version` are custom resources (served for a CRD or an
    aggregated API), not kinds of Kubernetes itself."""
    return api_version.rpartition("/")[0] not in BUILTIN_GROUPS


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


# -- object names, by the rules the API server applies to each kind -----------------------------
#
# Most kinds take a DNS subdomain; a few are stricter or looser. RBAC objects are path segments
# (`kyverno:admission-controller` is valid), Namespaces DNS labels, Services RFC 1035 labels.
# Custom resources take DNS subdomains too, but a CRD's own validation is not known offline, so a
# custom resource's name is held only to what any URL needs (a path segment) for an error.

BUILTIN_GROUPS = frozenset(
    {
        "", "apps", "batch", "autoscaling", "policy", "extensions",
        "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
        "authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io",
        "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io",
        "flowcontrol.apiserver.k8s.io", "internal.apiserver.k8s.io", "networking.k8s.io",
        "node.k8s.io", "rbac.authorization.k8s.io", "resource.k8s.io", "scheduling.k8s.io",
        "storage.k8s.io", "storagemigration.k8s.io",
    }
)
PATH_SEGMENT_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def is_builtin(api_version: str) -> bool:
    return group_of(api_version) in BUILTIN_GROUPS


def namespace_problem(namespace: str) -> str | None:
    """Why the API server would refuse `namespace` as an object's metadata.namespace (it names
    a Namespace, so it is held to a Namespace's name rule: a DNS label of at most 63)."""
    if len(namespace) > 63 or not _DNS_LABEL.match(namespace):
        shown = namespace if len(namespace) <= 80 else namespace[:79] + "…"
        return (f"namespace {shown!r} is not a DNS label (lowercase letters, digits, '-'; ≤ 63, "
                f"this one has {len(namespace)})")
    return None


def name_problem(kind: str, api_version: str, name: str) -> tuple[bool, str] | None:
    """Why the API server would refuse `name` for this kind, or None.

    Returns (certain, message): certain is False when the rule is only the usual one for a kind
    whose own rule cannot be known offline (a custom resource), so the caller can warn instead.
    """
    if not name:
        return True, "metadata.name is empty"
    if name in (".", "..") or "/" in name or "%" in name:
        return True, f"name {name!r} cannot be a URL path segment (no '/', '%', '.' or '..')"
    if kind in PATH_SEGMENT_KINDS and is_builtin(api_version):
        return None
    if kind == "Namespace" and is_builtin(api_version):
        problem = namespace_problem(name)
        return (True, problem.replace("namespace", "name", 1)) if problem else None
    if kind == "Service" and is_builtin(api_version):
        if len(name) > 63 or not _DNS_1035_LABEL.match(name):
            return True, (f"name {name!r} is not an RFC 1035 label (starts with a letter; "
                          "lowercase letters, digits, '-'; ≤ 63)")
        return None
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        return is_builtin(api_version), (
            f"name {name!r} is not a DNS subdomain (lowercase letters, digits, '-', '.'; ≤ 253)")
    return None
