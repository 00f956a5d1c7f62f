"""render_charts with the real helm on the fixture charts, and with a fake helm for pulls."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from illm_lab import catalog
from illm_lab.base.errors import EXIT_CLUSTER, InputError, TemplateError, ToolError
from illm_lab.catalog import params
from illm_lab.charts import ChartCache, ChartNotCached, render_charts
from illm_lab.rendering import render
from illm_lab.rendering.render import Rendering
from illm_lab.tools.run import ToolNotFound
from tests.support.chart_experiments import LOCAL, OCI, REPO, write_chart_experiment
from tests.support.fakebin import calls, fake_helm, values_seen


def _rendering(root: Path, **kwargs: Any) -> Rendering:
    folder = write_chart_experiment(root, **kwargs)
    entry = catalog.load(folder)
    return render.render(entry, params.resolve(entry.experiment))


def _names(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(o["kind"], o["metadata"]["name"]) for o in objects]


def test_local_chart_renders_crds_first_hooks_as_phases(tmp_path: Path, helm_on_path: Path) -> None:
    rendering = _rendering(tmp_path, helm=LOCAL)
    render_charts(rendering, kube_version="1.31", api_versions=["lab.example.com/v1"])
    comp = rendering.components[0]
    assert comp.objects[0]["kind"] == "CustomResourceDefinition"
    assert sorted(_names(comp.objects)) == [
        ("ConfigMap", "web-config"), ("CustomResourceDefinition", "widgets.lab.example.com"),
        ("Deployment", "web"), ("Service", "web"), ("Widget", "web-widget"),
    ]
    by_name = {o["metadata"]["name"]: o for o in comp.objects}
    assert "namespace" not in by_name["widgets.lab.example.com"]["metadata"]
    for name in ("web", "web-config", "web-widget"):
        assert by_name[name]["metadata"]["namespace"] == "web"
    assert by_name["web"]["spec"]["replicas"] == 2  # from the Jinja-rendered values
    assert [(p.weight, _names([h.object for h in p.hooks])) for p in comp.hooks_before] == [
        (-10, [("ConfigMap", "web-pre-config")]), (-5, [("Job", "web-migrate")]),
    ]
    assert comp.hooks_before[1].hooks[0].delete_policies == ["before-hook-creation", "hook-succeeded"]
    assert [(p.weight, _names([h.object for h in p.hooks])) for p in comp.hooks_after] == [
        (0, [("Job", "web-smoke")]),
    ]
    assert comp.hooks_after[0].hooks[0].object["metadata"]["namespace"] == "web"
    everything = comp.objects + [h.object for p in comp.hooks_before + comp.hooks_after for h in p.hooks]
    assert "web-test-connection" not in {o["metadata"]["name"] for o in everything}
    assert comp.chart == "charts/labdemo (local)"


def test_release_name_overrides_component_name(tmp_path: Path, helm_on_path: Path) -> None:
    helm = "{path: charts/labdemo, values: values/web.yaml.j2, releaseName: shop}"
    rendering = _rendering(tmp_path, helm=helm)
    render_charts(rendering)
    assert ("Deployment", "shop") in _names(rendering.components[0].objects)


def test_repo_chart_is_pulled_once_then_served_from_the_cache(
    tmp_path: Path, bindir: Path, archive: Path, real_helm: Path
) -> None:
    record = tmp_path / "helm.calls"
    fake_helm(bindir, record, archive=archive, real_helm=real_helm)
    rendering = _rendering(tmp_path, helm=REPO)
    render_charts(rendering, kube_version="1.30.2", api_versions=["a.example/v1", "b.example/v2/Kind"])
    pull, template = calls(record)
    destination = pull[pull.index("--destination") + 1]
    assert pull == ["pull", "labdemo", "--version", "0.1.0", "--destination", destination,
                    "--repo", "https://charts.example.com"]
    entry = ChartCache().entries()[0]
    values_file = template[template.index("--values") + 1]
    assert template == [
        "template", "web", str(entry.path), "--namespace", "web", "--include-crds", "--skip-tests",
        "--values", values_file, "--kube-version", "1.30.2",
        "--api-versions", "a.example/v1", "--api-versions", "b.example/v2/Kind",
    ]
    assert not Path(values_file).exists()  # removed right after helm returned
    seen = values_seen(record)
    assert seen == [{"mode": 0o600, "text": "replicas: 2\ngreeting: hello from lab\n"}]
    assert rendering.components[0].chart == f"labdemo 0.1.0 (sha256:{entry.digest[7:19]})"

    again = _rendering(tmp_path / "second", helm=REPO)
    render_charts(again)
    assert [c[0] for c in calls(record)] == ["pull", "template", "template"]
    assert _names(again.components[0].objects) == _names(rendering.components[0].objects)


def test_oci_pull_argv(tmp_path: Path, bindir: Path, archive: Path, real_helm: Path) -> None:
    record = tmp_path / "helm.calls"
    fake_helm(bindir, record, archive=archive, real_helm=real_helm)
    render_charts(_rendering(tmp_path, helm=OCI))
    pull = calls(record)[0]
    destination = pull[pull.index("--destination") + 1]
    assert pull == ["pull", "oci://registry.example.com/charts/labdemo", "--version", "0.1.0",
                    "--destination", destination]


def test_offline_uses_the_cache_and_never_pulls(tmp_path: Path, bindir: Path, archive: Path,
                                                real_helm: Path) -> None:
    record = tmp_path / "helm.calls"
    fake_helm(bindir, record, archive=archive, real_helm=real_helm)
    with pytest.raises(ChartNotCached):
        render_charts(_rendering(tmp_path / "a", helm=REPO), offline=True)
    assert calls(record) == []
    render_charts(_rendering(tmp_path / "b", helm=REPO))
    rendering = _rendering(tmp_path / "c", helm=REPO)
    render_charts(rendering, offline=True)
    assert [c[0] for c in calls(record)] == ["pull", "template", "template"]
    assert rendering.components[0].objects


def test_parallel_renders_share_one_pull(tmp_path: Path, bindir: Path, archive: Path,
                                         real_helm: Path) -> None:
    record = tmp_path / "helm.calls"
    fake_helm(bindir, record, archive=archive, real_helm=real_helm, pull_delay=0.5)
    renderings = [_rendering(tmp_path / str(i), helm=REPO) for i in range(3)]
    errors: list[BaseException] = []

    def work(r: Rendering) -> None:
        try:
            render_charts(r)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in renderings]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert [c[0] for c in calls(record)].count("pull") == 1
    assert all(r.components[0].objects for r in renderings)


def test_helm_missing_is_a_tool_error(tmp_path: Path, bindir: Path) -> None:
    with pytest.raises(ToolNotFound) as info:
        render_charts(_rendering(tmp_path, helm=LOCAL))
    assert info.value.exit_code == EXIT_CLUSTER
    assert str(info.value).startswith("helm: command not found on PATH; install helm 3.8")


def test_helm_failure_gives_the_reason_first_and_the_command_only_as_detail(
    tmp_path: Path, helm_on_path: Path
) -> None:
    rendering = _rendering(tmp_path, helm=LOCAL, values="replicas: many\n")
    with pytest.raises(ToolError) as info:
        render_charts(rendering)
    message = str(info.value)
    assert message.startswith("component web: chart charts/labdemo (local): values don't meet the specifications")
    assert "\n" not in message and "helm template" not in message
    detail = info.value.detail or ""
    assert detail.startswith("helm template web ")
    assert "    - at '/replicas': got string, want integer" in detail


def test_a_chart_that_refuses_the_kubernetes_version_says_so_in_one_line(
    tmp_path: Path, helm_on_path: Path
) -> None:
    rendering = _rendering(tmp_path, helm=LOCAL)
    chart_yaml = tmp_path / "charted" / "charts" / "labdemo" / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text() + 'kubeVersion: ">=1.23.0-0"\n')
    with pytest.raises(ToolError) as info:
        render_charts(rendering, kube_version="1.20.2")
    assert str(info.value) == ("component web: chart charts/labdemo (local): requires kubeVersion "
                               ">=1.23.0-0; the target runs v1.20.2")


def test_chart_output_that_is_not_an_object_names_the_chart(tmp_path: Path, helm_on_path: Path) -> None:
    helm = "{path: charts/kindless}"
    rendering = _rendering(tmp_path, helm=helm, chart="kindless")
    with pytest.raises(TemplateError) as info:
        render_charts(rendering)
    assert str(info.value) == (
        "chart charts/kindless (local): kindless/templates/broken.yaml: "
        "rendered an object without kind"
    )


def test_garbage_output_from_helm_is_a_clear_error(tmp_path: Path, bindir: Path, archive: Path) -> None:
    record = tmp_path / "helm.calls"
    fake_helm(bindir, record, archive=archive, template_output="---\n# Source: labdemo/t.yaml\n: : [\n")
    with pytest.raises(InputError) as info:
        render_charts(_rendering(tmp_path, helm=REPO))
    assert str(info.value).startswith("chart labdemo 0.1.0: labdemo/t.yaml:")
    assert "invalid YAML" in str(info.value)


def test_local_chart_outside_the_experiment_is_refused(tmp_path: Path, helm_on_path: Path) -> None:
    rendering = _rendering(tmp_path, helm="{path: ../elsewhere}")
    with pytest.raises(InputError, match="points outside the experiment folder"):
        render_charts(rendering)


def test_lint_renders_charts_into_a_copy_leaving_the_callers_rendering(
    tmp_path: Path, helm_on_path: Path
) -> None:
    from illm_lab.authoring.lint import lint_rendering

    folder = write_chart_experiment(tmp_path, helm=LOCAL)
    entry = catalog.load(folder)
    rendering = render.render(entry, params.resolve(entry.experiment))
    comp = rendering.components[0]
    result = lint_rendering(entry, rendering)
    assert result.ok, result.findings
    assert result.objects > 5  # the chart's objects and hooks, with the namespace
    assert rendering.components[0] is comp
    assert (comp.objects, comp.hooks_before, comp.hooks_after, comp.chart) == ([], [], [], None)
