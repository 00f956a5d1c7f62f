"""Discovery and OpenAPI documents of the emulator, computed from its live resource registry.

Why stubs are enough for kubectl: kubectl reads `/openapi/v3` for one thing that matters here,
whether a group-version's PATCH operation accepts `fieldValidation` (then it validates
server-side and needs no schemas), and whether it accepts strategic merge patches (it is told
"no", so client-side `kubectl apply` falls back to its compiled-in patch metadata, which is
exact for built-in kinds and JSON merge patch for custom resources). `/openapi/v2` is requested
as protobuf; an empty gnostic `Document` is valid protobuf, so kubectl gets a schema-less spec.
Legacy discovery (APIGroupList/APIResourceList) is served as plain JSON; kubectl asks for the
aggregated form first and falls back when the answer's content type is plain JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import kmock

from tests.support.emulator_store import Store, version_priority

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-lab-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_SUBRESOURCE_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "log": ["get"],
    "proxy": ["create", "delete", "get", "patch", "update"],
    "portforward": ["create", "get"],
    "exec": ["create", "get"],
    "attach": ["create", "get"],
    "eviction": ["create"],
    "finalize": ["update"],
}


def _group_versions(store: Store) -> dict[str, list[str]]:
    groups: dict[str, set[str]] = {}
    for res in store.resource_keys():
        if res.group is not None and res.version:
            groups.setdefault(res.group, set()).add(res.version)
    return {g: sorted(v, key=version_priority, reverse=True) for g, v in groups.items()}


def api_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group_doc(group: str, versions: list[str]) -> dict[str, Any]:
    return {
        "name": group,
        "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
        "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]},
    }


def api_group_list(store: Store) -> dict[str, Any]:
    groups = [_group_doc(g, v) for g, v in sorted(_group_versions(store).items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(store: Store, group: str) -> dict[str, Any] | None:
    versions = _group_versions(store).get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def api_resource_list(store: Store, group: str, version: str) -> dict[str, Any] | None:
    resources: list[dict[str, Any]] = []
    for res in sorted(store.resource_keys(), key=lambda r: r.plural or ""):
        if res.group != group or res.version != version or not res.plural:
            continue
        info: kmock.ResourceInfo = store.resources[res]
        kind = info.kind or res.plural.capitalize()
        entry: dict[str, Any] = {
            "name": res.plural,
            "singularName": info.singular or kind.lower(),
            "namespaced": bool(info.namespaced),
            "kind": kind,
            "verbs": sorted(info.verbs)
            or ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "storageVersionHash": hashlib.sha256(f"{group}/{res.plural}".encode()).hexdigest()[:12],
        }
        if info.shortnames:
            entry["shortNames"] = sorted(info.shortnames)
        if info.categories:
            entry["categories"] = sorted(info.categories)
        resources.append(entry)
        for sub in sorted(info.subresources):
            sub_entry: dict[str, Any] = {
                "name": f"{res.plural}/{sub}",
                "singularName": "",
                "namespaced": bool(info.namespaced),
                "kind": kind,
                "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"]),
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1", kind="Scale")
            resources.append(sub_entry)
    if not resources:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def openapi_v3_root(store: Store) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for group, versions in _group_versions(store).items():
        for version in versions:
            rel = f"api/{version}" if not group else f"apis/{group}/{version}"
            digest = hashlib.sha256(json.dumps(openapi_v3_group_version(store, group, version),
                                               sort_keys=True).encode()).hexdigest()[:16].upper()
            paths[rel] = {"serverRelativeURL": f"/openapi/v3/{rel}?hash={digest}"}
    return {"paths": paths}


def openapi_v3_group_version(store: Store, group: str, version: str) -> dict[str, Any] | None:
    paths: dict[str, Any] = {}
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    for res in sorted(store.resource_keys(), key=lambda r: r.plural or ""):
        if res.group != group or res.version != version or not res.plural:
            continue
        info = store.resources[res]
        gvk = {"group": group, "version": version, "kind": info.kind or res.plural.capitalize()}
        scope = "/namespaces/{namespace}" if info.namespaced else ""
        path = f"{prefix}{scope}/{res.plural}/{{name}}"
        paths[path] = {
            "patch": {
                "operationId": f"patch{gvk['kind']}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                    {"name": "fieldValidation", "in": "query",
                     "schema": {"type": "string", "uniqueItems": True}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": True}},
                ],
                "requestBody": {
                    "content": {
                        "application/json-patch+json": {"schema": {"type": "object"}},
                        "application/merge-patch+json": {"schema": {"type": "object"}},
                        "application/apply-patch+yaml": {"schema": {"type": "object"}},
                    },
                },
                "responses": {"200": {"description": "OK"}},
            },
        }
    if not paths:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }


def _pb_string(field: int, value: str) -> bytes:
    data = value.encode()
    return bytes([field << 3 | 2, len(data)]) + data


def openapi_v2_protobuf() -> bytes:
    """A minimal gnostic `openapi_v2.Document`: swagger "2.0" and an info block."""
    info = _pb_string(1, "Kubernetes") + _pb_string(2, SERVER_VERSION["gitVersion"])
    return _pb_string(1, "2.0") + bytes([2 << 3 | 2, len(info)]) + info


def openapi_v2_json() -> dict[str, Any]:
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": {},
        "definitions": {},
    }
