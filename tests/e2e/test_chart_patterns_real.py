"""A pinned chart of the suite's own, put into the cache with `lab charts import` and conducted
on a cluster that runs real pods: the patterns the catalog's real charts contain (a CRD with `=`
in an enum and merge keys, RBAC names with colons, hooks, a custom resource beside its CRD, CRDs
another component owns, check targets controllers create) must deploy, pass and leave nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.support.fakebin import require_real_helm
from tests.support.real_cluster import RealCluster
from tests.support.reports import single

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = REPO / "tests" / "fixtures" / "experiments-real"
CHART = REPO / "tests" / "fixtures" / "charts" / "labpatterns"


def test_an_imported_chart_with_real_chart_patterns_conducts(
    real_cluster: RealCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helm = require_real_helm()
    monkeypatch.setenv("PATH", f"{helm.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))
    runner = CliRunner()
    imported = runner.invoke(app, ["--experiments-dir", str(EXPERIMENTS), "charts", "import",
                                   str(CHART), "-o", "json"])
    assert imported.exit_code == 0, imported.output
    stored = json.loads(imported.stdout)[0]["stored"]
    assert [(s["chart"], s["version"], s["location"]) for s in stored] == [
        ("labpatterns", "0.1.0", "https://charts.lab.test")]
    assert stored[0]["origin"] == f"imported from {CHART}"

    res = runner.invoke(app, [
        "--experiments-dir", str(EXPERIMENTS), "conduct", "chart-patterns", "--ci", "-o", "json",
        "--set", f"image={real_cluster.images['app']}", "--set", f"pullPolicy={real_cluster.pull_policy}",
        "--kubeconfig", str(real_cluster.kubeconfig), "--context", real_cluster.context,
    ])
    report = single(res.stdout)
    failed = [c for c in report.get("checks", []) if not c["passed"]]
    assert res.exit_code == 0 and not failed, (res.stderr, failed)
    assert len(report["checks"]) == 7
    assert _cluster_scoped_left(real_cluster) == []


def _cluster_scoped_left(cluster: RealCluster) -> list[str]:
    """The chart's CRDs and RBAC objects are gone after teardown (not only its namespace)."""
    from kubernetes import dynamic

    api = cluster.api_client()
    try:
        dyn = dynamic.DynamicClient(api)
        left = []
        for api_version, kind in [("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
                                  ("rbac.authorization.k8s.io/v1", "ClusterRole"),
                                  ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")]:
            for item in dyn.resources.get(api_version=api_version, kind=kind).get().items:
                name = item.metadata.name
                if name.endswith(".lab.test") or name.startswith("pat:"):
                    left.append(f"{kind}/{name}")
        return left
    finally:
        api.close()
