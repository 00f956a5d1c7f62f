"""The main job for real: `lab conduct` on a cluster that runs real pods (tier 3, or the
cluster of LAB_E2E_KUBECONFIG on tier 4), with the images substituted through params."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.support import browser
from tests.support.real_cluster import RealCluster
from tests.support.reports import single

REPO = Path(__file__).resolve().parents[2]
LAB_LABEL = "lab.illm.io/instance"


def lab(cluster: RealCluster, experiments: Path, *args: str) -> Any:
    return CliRunner().invoke(app, [
        "--experiments-dir", str(experiments), *args,
        "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context,
    ])


def leftovers(cluster: RealCluster, instance: str) -> list[str]:
    """Objects still carrying the instance label (namespaces included)."""
    from kubernetes import dynamic

    api = cluster.api_client()
    try:
        dyn = dynamic.DynamicClient(api)
        found = []
        for api_version, kind in [("v1", "Namespace"), ("apps/v1", "Deployment"), ("v1", "Service"),
                                  ("v1", "ConfigMap"), ("batch/v1", "Job"), ("v1", "Pod")]:
            items = dyn.resources.get(api_version=api_version, kind=kind).get(
                label_selector=f"{LAB_LABEL}={instance}")
            found += [f"{kind}/{i.metadata.name}" for i in items.items
                      if not (kind == "Namespace" and i.status.phase == "Terminating")]
        return found
    finally:
        api.close()


def values_file(tmp_path: Path, values: dict[str, Any]) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_hello_app_conducts_for_real(real_cluster: RealCluster, tmp_path: Path) -> None:
    repo, _, tag = real_cluster.images["app"].rpartition(":")
    values = values_file(tmp_path, {
        "image": repo, "tag": tag, "pullPolicy": real_cluster.pull_policy,
        "k6Image": real_cluster.images["app"], "loadCommand": ["sh", "-c"],
        "loadArgs": ["for i in $(seq 20); do wget -qO- "
                     "http://$HELLO_APP_SERVICE_HOST:$HELLO_APP_SERVICE_PORT/ >/dev/null || exit 1; done"],
    })
    junit, page = tmp_path / "report.xml", tmp_path / "report.html"
    res = lab(real_cluster, REPO / "experiments", "conduct", "hello-app", "--ci", "--values", str(values),
              "-o", "json", "--junit", str(junit), "--html", str(page))
    report = single(res.stdout)
    assert res.exit_code == 0, (res.stderr, report.get("checks"))
    assert report["verdict"] == "passed"
    assert {c["name"] for c in report["checks"]} >= {"deployment rolled out", "workflow hello-load completes"}
    assert leftovers(real_cluster, "hello-app") == []
    assert junit.read_text().count("<testcase") == len(report["checks"])
    # The HTML report of a real run, checked in a real browser as the emulator's are.
    assert page.read_text().count('<details class="check"') == len(report["checks"])
    with browser.session(tmp_path / "chromium-profile") as chromium:
        if chromium is not None:
            browser.check_report_page(chromium, page, [report], tmp_path / "report.png")


def test_every_check_type_on_real_pods(real_cluster: RealCluster, tmp_path: Path) -> None:
    values = values_file(tmp_path, {
        "image": real_cluster.images["app"], "prometheusImage": real_cluster.images["prometheus"],
        "pullPolicy": real_cluster.pull_policy,
    })
    res = lab(real_cluster, REPO / "tests" / "fixtures" / "experiments-real", "conduct", "real-checks", "--ci", "--allow-commands",
              "--values", str(values), "-o", "json")
    report = single(res.stdout)
    failed = [c for c in report.get("checks", []) if not c["passed"]]
    assert res.exit_code == 0 and not failed, (res.stderr, failed)
    assert {c["type"] for c in report["checks"]} == {
        "ready", "assert", "absent", "http", "logs", "promql", "job", "command", "access"}
    assert leftovers(real_cluster, "real-checks") == []


def test_http_baseline_conducts_for_real(real_cluster: RealCluster, tmp_path: Path) -> None:
    """Target and loadgen roles on one cluster: the load Job finds the app through the Service
    variables of its namespace, so no address is written anywhere."""
    repo, _, tag = real_cluster.images["app"].rpartition(":")
    values = values_file(tmp_path, {
        "image": repo, "tag": tag, "pullPolicy": real_cluster.pull_policy, "replicas": 2,
        "k6Image": repo, "k6Tag": tag, "loadCommand": ["sh", "-c"],
        "loadArgs": ["base=http://$DEMO_APP_SERVICE_HOST:$DEMO_APP_SERVICE_PORT_HTTP; "
                     "for i in $(seq 30); do wget -qO- $base/ >/dev/null && wget -qO- $base/api/info >/dev/null "
                     "|| exit 1; done"],
    })
    res = lab(real_cluster, REPO / "experiments", "conduct", "http-baseline", "--ci", "--values", str(values),
              "-o", "json")
    report = single(res.stdout)
    assert res.exit_code == 0, (res.stderr, [c for c in report.get("checks", []) if not c["passed"]])
    assert report["checks"][-1]["name"] == "workflow http-baseline-load completes"
    assert leftovers(real_cluster, "http-baseline") == []
