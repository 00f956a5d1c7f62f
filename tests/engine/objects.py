"""Small Kubernetes objects and an experiment model for engine tests."""

from __future__ import annotations

from typing import Any

from illm_lab.model.experiment import Experiment


def experiment(name: str = "demo") -> Experiment:
    return Experiment.model_validate({
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": name, "title": "engine test", "phase": "1", "type": "demo"},
        "spec": {"params": {"token": {"type": "string", "default": "hunter2", "secret": True}}},
    })


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(name: str, ns: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
            "data": data or {"key": "value"}}


def secret(name: str, ns: str, value: str = "s3cr3t") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
            "stringData": {"token": value}}


def service(name: str, ns: str, port: int = 8080) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name}, "ports": [{"port": port, "protocol": "TCP"}]}}


def deployment(name: str, ns: str, replicas: int = 1, image: str = "lab.local/labapp:1",
               pull_policy: str = "Never") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{
                        "name": "app", "image": image, "imagePullPolicy": pull_policy,
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    }],
                },
            },
        },
    }


def crd(group: str = "example.com", kind: str = "Widget", plural: str = "widgets") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }},
            }],
        },
    }


def widget(name: str, ns: str, size: int = 1, group: str = "example.com") -> dict[str, Any]:
    return {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": name, "namespace": ns},
            "spec": {"size": size}}
