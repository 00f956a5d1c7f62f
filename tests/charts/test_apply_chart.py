"""A rendered fixture chart applied by the engine: tier 2 (emulator) and tier 3/4 (real cluster).

The order is the one the conduct pipeline follows for a chart component: namespaces, the
before-hook phases by weight, the main objects (the engine puts the CRD first and waits until it
is Established before the Widget), then the after-hook phases. Waiting for hook Jobs to complete
is the pipeline's job and is not exercised here.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from illm_lab import catalog
from illm_lab.catalog import params
from illm_lab.charts import render_charts
from illm_lab.engine.apply import Applier, ApplyReport, plan
from illm_lab.engine.inventory import Inventory, instance_id
from illm_lab.kube import connect
from illm_lab.rendering import render
from illm_lab.rendering.render import Rendering
from tests.support.chart_experiments import LOCAL, write_chart_experiment


def _render(root: Path, name: str, namespace: str, values: str | None = None,
            kube_version: str | None = None) -> Rendering:
    kwargs: dict[str, Any] = {"helm": LOCAL, "namespace": namespace}
    if values is not None:
        kwargs["values"] = values
    entry = catalog.load(write_chart_experiment(root, name, **kwargs))
    rendering = render.render(entry, params.resolve(entry.experiment))
    render_charts(rendering, kube_version=kube_version)
    return rendering


def _deploy(cluster: Any, rendering: Rendering) -> list[tuple[str, ApplyReport]]:
    name = rendering.experiment.name
    inventory = Inventory(name, instance_id(name))
    applier = Applier(cluster, inventory)
    comp = rendering.components[0]
    steps: list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]] = [
        ("namespaces", [("namespaces", rendering.namespaces["target"])]),
        *[(f"before {p.weight}", [(comp.name, [h.object for h in p.hooks])]) for p in comp.hooks_before],
        ("main", [(comp.name, comp.objects)]),
        *[(f"after {p.weight}", [(comp.name, [h.object for h in p.hooks])]) for p in comp.hooks_after],
    ]
    return [(label, applier.apply(plan(groups, inventory))) for label, groups in steps]


@pytest.mark.emulator
@pytest.mark.timeout(60)
def test_chart_applies_through_the_engine_on_the_emulator(
    tmp_path: Path, emulator: Any, helm_on_path: Path
) -> None:
    rendering = _render(tmp_path, "charted", "web")
    with connect(emulator.kubeconfig, "emulator") as cluster:
        reports = _deploy(cluster, rendering)
        assert [label for label, _ in reports] == ["namespaces", "before -10", "before -5", "main", "after 0"]
        assert all(set(r.counts()) == {"created"} for _, r in reports), [r.counts() for _, r in reports]
        widget = cluster.get("lab.example.com/v1", "Widget", "web-widget", "web")
        assert widget is not None and widget["spec"] == {"size": 3}
        labels = widget["metadata"]["labels"]
        assert labels["lab.illm.io/component"] == "web" and labels["lab.illm.io/experiment"] == "charted"
        assert cluster.get("batch/v1", "Job", "web-migrate", "web") is not None
        assert cluster.get("batch/v1", "Job", "web-smoke", "web") is not None
        assert cluster.get("v1", "Pod", "web-test-connection", "web") is None
        deployment = cluster.get("apps/v1", "Deployment", "web", "web")
        assert deployment is not None and deployment["spec"]["replicas"] == 2

        again = _deploy(cluster, _render(tmp_path / "again", "charted", "web"))
        assert all(set(r.counts()) == {"unchanged"} for _, r in again), [r.counts() for _, r in again]


@pytest.mark.timeout(300)
def test_chart_runs_on_a_real_cluster(tmp_path: Path, real_cluster: Any, helm_on_path: Path) -> None:
    from kubernetes import client

    from tests.support.real_cluster import delete_namespace, watch_until

    namespace = f"chart-{uuid.uuid4().hex[:8]}"
    values = (f"replicas: 1\nimage: {real_cluster.images['app']}\n"
              f"pullPolicy: {real_cluster.pull_policy}\n")
    rendering = _render(tmp_path, "charted", namespace, values=values,
                        kube_version=real_cluster.kubernetes_version)
    api = real_cluster.api_client()
    try:
        with connect(real_cluster.kubeconfig, real_cluster.context) as cluster:
            _deploy(cluster, rendering)
            assert cluster.get("lab.example.com/v1", "Widget", "web-widget", namespace) is not None
        watch_until(
            client.AppsV1Api(api).list_namespaced_deployment,
            lambda d: (d.status.ready_replicas or 0) >= 1,
            what=f"Deployment {namespace}/web ready",
            timeout=120,
            namespace=namespace,
            field_selector="metadata.name=web",
        )
    finally:
        delete_namespace(api, namespace)
        client.ApiextensionsV1Api(api).delete_custom_resource_definition(
            "widgets.lab.example.com", _preload_content=False, _request_timeout=30)
        api.close()
