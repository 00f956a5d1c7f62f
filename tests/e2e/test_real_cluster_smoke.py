"""Smoke tests of the real cluster (tier 3 locally, tier 4 with LAB_E2E_KUBECONFIG).

They prove what later tests rely on: pods start from the cluster's images and pass httpGet
readiness probes, Services answer through the API server's service proxy, pod logs are
readable, namespaces delete completely, and a Prometheus in the cluster scrapes the demo app
and answers PromQL (so `promql` checks can be tested for real).

Objects are built as dicts (the manifests experiments use look the same) and created with
the typed client; every wait is a watch with a deadline.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.real_cluster import (
    RealCluster,
    delete_namespace,
    follow_logs_until,
    watch_until,
)

pytestmark = pytest.mark.cluster

APP = "podinfo"
APP_PORT = 9898


def app_objects(cluster: RealCluster, replicas: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A podinfo-style Deployment and Service; only the image differs between tiers."""
    labels = {"app.kubernetes.io/name": APP}
    container: dict[str, Any] = {
        "name": APP,
        "image": cluster.images["app"],
        "imagePullPolicy": cluster.pull_policy,
        "ports": [{"name": "http", "containerPort": APP_PORT, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": APP_PORT},
            "periodSeconds": 1,
        },
    }
    if cluster.kind == "e2e":
        # Upstream podinfo logs each request only at debug level; the local labapp logs
        # every request with no command at all (the point of its default entrypoint).
        container["command"] = ["./podinfo", f"--port={APP_PORT}", "--level=debug"]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": APP, "labels": labels},
        "spec": {
            "selector": labels,
            # 1.20 rejects ports without protocol in server-side apply; always set it.
            "ports": [{"name": "http", "port": APP_PORT, "targetPort": APP_PORT, "protocol": "TCP"}],
        },
    }
    return deployment, service


def wait_deployment_ready(api: Any, namespace: str, name: str, replicas: int) -> None:
    watch_until(
        client.AppsV1Api(api).list_namespaced_deployment,
        lambda d: (d.status.ready_replicas or 0) >= replicas
        and d.status.observed_generation == d.metadata.generation,
        what=f"Deployment {namespace}/{name} to have {replicas} ready replicas",
        timeout=120,
        namespace=namespace,
        field_selector=f"metadata.name={name}",
    )


def wait_endpoints(api: Any, namespace: str, name: str, count: int) -> None:
    """Readiness reaches the Service a moment after the Deployment: wait for it too."""
    watch_until(
        client.CoreV1Api(api).list_namespaced_endpoints,
        lambda e: sum(len(s.addresses or []) for s in e.subsets or []) >= count,
        what=f"Service {namespace}/{name} to have {count} ready endpoints",
        timeout=60,
        namespace=namespace,
        field_selector=f"metadata.name={name}",
    )


def service_proxy_get(
    api: Any, namespace: str, service: str, path: str, query: dict[str, str] | None = None
) -> tuple[int, str]:
    """GET through the API server's service proxy; returns (status, body).

    Built from the client's own serializer so any kubeconfig auth (certificates, tokens)
    applies; the typed connect_* methods would URL-encode a query string into the path.
    """
    method, url, headers, body, post = api.param_serialize(
        "GET",
        f"/api/v1/namespaces/{namespace}/services/{service}/proxy/{path.lstrip('/')}",
        query_params=list((query or {}).items()),
        auth_settings=["BearerToken"],
    )
    try:
        response = api.call_api(
            method, url, header_params=headers, body=body, post_params=post, _request_timeout=30
        )
    except ApiException as exc:
        return exc.status, str(exc.body)
    return response.status, response.read().decode()


def test_labapp_deployment_service_logs_and_namespace_delete(
    real_cluster: RealCluster, cluster_namespace: str
) -> None:
    api = real_cluster.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    ns = cluster_namespace
    try:
        deployment, service = app_objects(real_cluster, replicas=2)
        apps.create_namespaced_deployment(ns, deployment, _request_timeout=30)
        core.create_namespaced_service(ns, service, _request_timeout=30)

        wait_deployment_ready(api, ns, APP, 2)
        wait_endpoints(api, ns, APP, 2)

        token = uuid.uuid4().hex
        status, body = service_proxy_get(api, ns, f"{APP}:{APP_PORT}", "/", {"smoke": token})
        assert status == 200, body
        assert json.loads(body)["message"] == "greetings from podinfo"

        pods = core.list_namespaced_pod(
            ns, label_selector=f"app.kubernetes.io/name={APP}", _request_timeout=30
        ).items
        assert len(pods) == 2
        follow_logs_until(api, ns, [p.metadata.name for p in pods], token, timeout=30)

        # Deletion must complete (raises after the deadline); the fixture's own delete is
        # then a no-op.
        delete_namespace(api, ns, timeout=60)
    finally:
        api.close()


PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 2s
  evaluation_interval: 2s
scrape_configs:
  - job_name: labapp
    static_configs:
      - targets: ["{target}"]
"""


def prometheus_objects(cluster: RealCluster, target: str) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": "prometheus"}
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "prometheus-config"},
        "data": {"prometheus.yml": PROMETHEUS_CONFIG.format(target=target)},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "prometheus", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            # Default args of both images: --config.file=
                            # /etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus
                            "name": "prometheus",
                            "image": cluster.images["prometheus"],
                            "imagePullPolicy": cluster.pull_policy,
                            "ports": [{"containerPort": 9090, "protocol": "TCP"}],
                            "readinessProbe": {
                                "httpGet": {"path": "/-/ready", "port": 9090},
                                "periodSeconds": 1,
                            },
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/prometheus"}],
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": "prometheus-config"}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "prometheus"},
        "spec": {
            "selector": labels,
            "ports": [{"name": "web", "port": 9090, "targetPort": 9090, "protocol": "TCP"}],
        },
    }
    return [config_map, deployment, service]


def test_prometheus_scrapes_labapp_and_answers_promql(
    real_cluster: RealCluster, cluster_namespace: str
) -> None:
    api = real_cluster.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    ns = cluster_namespace
    try:
        deployment, service = app_objects(real_cluster, replicas=1)
        apps.create_namespaced_deployment(ns, deployment, _request_timeout=30)
        core.create_namespaced_service(ns, service, _request_timeout=30)
        # By Service name: cluster DNS (the local cluster's own server, CoreDNS on tier 4).
        config_map, prom, prom_service = prometheus_objects(
            real_cluster, f"{APP}.{ns}.svc:{APP_PORT}"
        )
        core.create_namespaced_config_map(ns, config_map, _request_timeout=30)
        apps.create_namespaced_deployment(ns, prom, _request_timeout=30)
        core.create_namespaced_service(ns, prom_service, _request_timeout=30)

        wait_deployment_ready(api, ns, APP, 1)
        wait_deployment_ready(api, ns, "prometheus", 1)
        wait_endpoints(api, ns, "prometheus", 1)

        # Scrape results are not Kubernetes objects (nothing to watch): bounded retries of
        # the query, each a fresh evaluation, until the first scrapes have landed.
        query = {"query": 'sum(up{job="labapp"}) * count(http_requests_total)'}
        deadline = time.monotonic() + 60
        last = ""
        while True:
            status, last = service_proxy_get(api, ns, "prometheus:9090", "/api/v1/query", query)
            if status == 200:
                result = json.loads(last)["data"]["result"]
                if result and float(result[0]["value"][1]) >= 1:
                    break
            assert time.monotonic() < deadline, f"no scrape of labapp within 60s; last: {last}"
            time.sleep(1)
        status, targets = service_proxy_get(api, ns, "prometheus:9090", "/api/v1/targets")
        assert status == 200
        active = json.loads(targets)["data"]["activeTargets"]
        assert [t["health"] for t in active if t["labels"]["job"] == "labapp"] == ["up"]
    finally:
        api.close()
