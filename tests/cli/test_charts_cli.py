"""`lab charts pull|list` and `lab lint` on chart components, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from illm_lab.charts import ChartCache
from illm_lab.charts.reference import ChartRef
from tests.cli.conftest import Lab
from tests.support.chart_experiments import LOCAL, OCI, REPO, write_chart_experiment
from tests.support.fakebin import (
    FIXTURE_CHARTS,
    SOURCE_ROOT,
    calls,
    fake_helm,
    package_chart,
    require_real_helm,
)

REF = ChartRef("repo", "https://charts.example.com", "labdemo", "0.1.0")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "experiments"


@pytest.fixture
def bindir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    return path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return package_chart(FIXTURE_CHARTS / "labdemo", tmp_path / "pkg")


def run(root: Path, *args: str) -> Any:
    return Lab(root)(*args)


def test_pull_shows_progress_then_lists_the_cache(root: Path, tmp_path: Path, bindir: Path,
                                                  archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    write_chart_experiment(root, "one", helm=REPO)
    write_chart_experiment(root, "two", helm=OCI)
    write_chart_experiment(root, "three", helm=LOCAL)
    record = tmp_path / "helm.calls"
    fake_helm(bindir, record, archive=archive)
    res = run(root, "charts", "pull")
    assert res.exit_code == 0, res.output
    assert "pulling oci://registry.example.com/charts/labdemo:0.1.0 (two/web) ..." in res.stderr
    assert "pulling labdemo 0.1.0 from https://charts.example.com (one/web) ..." in res.stderr
    assert "local   charts/labdemo (three/web): nothing to pull" in res.stderr
    assert [c[1] for c in calls(record)] == ["labdemo", "oci://registry.example.com/charts/labdemo"]

    again = run(root, "charts", "pull", "one", "-o", "json")
    assert again.exit_code == 0, again.output
    assert [(r["experiment"], r["status"]) for r in json.loads(again.stdout)] == [("one", "cached")]
    assert len(calls(record)) == 2  # nothing pulled the second time

    listed = run(root, "charts", "list", "-o", "json")
    assert listed.exit_code == 0
    data = json.loads(listed.stdout)
    assert [(d["kind"], d["chart"], d["version"]) for d in data] == [
        ("repo", "labdemo", "0.1.0"), ("oci", "labdemo", "0.1.0"),  # sorted by location
    ]
    assert data[0]["digest"] == data[1]["digest"]
    table = run(root, "charts", "list")
    assert "labdemo" in table.stdout and "charts.example.com" in table.stdout


def test_pull_without_helm_exits_3_with_a_clear_message(root: Path, bindir: Path) -> None:
    write_chart_experiment(root, "one", helm=REPO)
    res = run(root, "charts", "pull", "one")
    assert res.exit_code == 3
    assert "lab: error: one/web: helm: command not found on PATH; install helm 3.8 or later" in res.stderr
    assert "Traceback" not in res.output


def test_pull_failure_shows_helm_stderr(root: Path, tmp_path: Path, bindir: Path) -> None:
    write_chart_experiment(root, "one", helm=REPO)
    fake_helm(bindir, tmp_path / "helm.calls", archive=None)
    res = run(root, "charts", "pull", "one")
    assert res.exit_code == 3
    assert "failed with exit code 1:\n    Error: fake helm has no chart to pull" in res.stderr


def test_list_of_an_empty_cache(root: Path) -> None:
    root.mkdir()
    res = run(root, "charts", "list", "-o", "json")
    assert res.exit_code == 0 and json.loads(res.stdout) == []
    assert "no charts in the cache" in run(root, "charts", "list").stderr


def test_lint_without_the_chart_in_the_cache_notes_it(root: Path) -> None:
    write_chart_experiment(root, "one", helm=REPO)
    res = run(root, "lint", "one", "-o", "json")
    assert res.exit_code == 0, res.output
    findings = json.loads(res.stdout)[0]["findings"]
    notes = [f["message"] for f in findings if f["severity"] == "note"]
    assert any("chart labdemo 0.1.0 from https://charts.example.com is not in the chart cache"
               in n and "lab charts pull one" in n for n in notes), notes
    assert any("check 'web ready': target Deployment web/web not verified: it may come from chart component" in n for n in notes)


def test_lint_folds_the_uncached_chart_notes_into_one_line(root: Path) -> None:
    write_chart_experiment(root, "one", helm=REPO)
    write_chart_experiment(root, "two", helm=OCI)
    res = run(root, "lint")
    assert res.exit_code == 0, res.output
    assert "not in the chart cache, so its objects" not in res.stderr
    assert "which was not rendered" not in res.stderr
    summary = [line for line in res.stderr.splitlines() if "not in the chart cache" in line]
    assert summary == [
        "note: 1 chart used by 2 experiments is not in the chart cache (labdemo 0.1.0), so their "
        "objects and the check targets inside them were not verified: `lab charts pull one two` "
        "fetches them, `lab charts import ARCHIVE…` files charts packaged elsewhere (-v lists each "
        "finding)"
    ], res.stderr
    verbose = run(root, "lint", "one", "-v")
    assert "chart labdemo 0.1.0 from https://charts.example.com is not in the chart cache" in verbose.stderr
    assert "which was not rendered" in verbose.stderr
    assert "-v lists each finding" not in verbose.stderr
    findings = json.loads(run(root, "lint", "one", "-o", "json").stdout)[0]["findings"]
    assert {f.get("topic") for f in findings if "chart" in f["message"]} == {"chart-not-cached"}


@pytest.fixture
def helm_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    helm = require_real_helm()
    monkeypatch.setenv("PATH", str(helm.parent))
    return helm


def test_lint_renders_a_cached_chart(root: Path, archive: Path, helm_on_path: Path) -> None:
    write_chart_experiment(root, "one", helm=REPO)
    ChartCache().add(REF, archive)
    res = run(root, "lint", "one", "-o", "json")
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)[0]
    assert result["ok"] is True
    assert result["findings"] == [], result["findings"]
    assert result["objects"] == 9  # namespace, 5 chart objects, 3 hooks (the test hook is skipped)


def test_lint_finds_values_schema_violations(root: Path, archive: Path, helm_on_path: Path) -> None:
    write_chart_experiment(root, "one", helm=REPO, values="replicas: 20\nport: http\n")
    ChartCache().add(REF, archive)
    res = run(root, "lint", "one")
    assert res.exit_code == 1
    values_file = root / "one" / "values" / "web.yaml.j2"
    assert (f"{values_file}: error: component web: values do not match the values.schema.json of "
            "chart labdemo 0.1.0: port: 'http' is not of type 'integer'") in res.stderr
    assert "replicas: 20 is greater than the maximum of 10" in res.stderr
    assert "one: FAILED" in res.stdout


def test_lint_checks_values_of_a_local_chart(root: Path, helm_on_path: Path) -> None:
    write_chart_experiment(root, "one", helm=LOCAL, values="replicas: 1\ngreeting: 5\n")
    res = run(root, "lint", "one", "-o", "json")
    assert res.exit_code == 1
    findings = json.loads(res.stdout)[0]["findings"]
    errors = [f["message"] for f in findings if f["severity"] == "error"]
    assert errors == [
        "component web: values do not match the values.schema.json of chart "
        "charts/labdemo (local): greeting: 5 is not of type 'string'"
    ]
    assert all(f["severity"] == "note" and "not verified" in f["message"]
               for f in findings if f["severity"] != "error")


def test_lint_without_helm_notes_it(root: Path, archive: Path, bindir: Path) -> None:
    write_chart_experiment(root, "one", helm=REPO)
    ChartCache().add(REF, archive)
    res = run(root, "lint", "one", "-o", "json")
    assert res.exit_code == 0, res.output
    notes = [f["message"] for f in json.loads(res.stdout)[0]["findings"] if f["severity"] == "note"]
    assert any("chart not rendered" in n and "helm: command not found" in n for n in notes), notes


def test_lint_with_charts_does_not_import_kubernetes(root: Path, archive: Path) -> None:
    helm = require_real_helm()
    write_chart_experiment(root, "one", helm=LOCAL)
    code = (
        "import sys\n"
        "from illm_lab.cli.main import app\n"
        "try:\n"
        "    app(['--experiments-dir', sys.argv[1], 'lint', 'one'], prog_name='lab')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "assert 'kubernetes' not in sys.modules, 'lab lint imported kubernetes'\n"
        "print('clean')\n"
    )
    env = {**os.environ, "PATH": str(helm.parent), "PYTHONPATH": str(SOURCE_ROOT)}
    res = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("clean")


def test_help_lists_the_new_commands(root: Path) -> None:
    res = run(root, "--help")
    assert "charts" in res.stdout and "doctor" in res.stdout
    sub = run(root, "charts", "--help")
    assert sub.exit_code == 0 and "pull" in sub.stdout and "list" in sub.stdout


def test_import_files_an_archive_under_every_pin_it_matches(root: Path, archive: Path) -> None:
    write_chart_experiment(root, "one", helm=REPO)
    write_chart_experiment(root, "two", helm=OCI)
    res = run(root, "charts", "import", str(archive), "-o", "json")
    assert res.exit_code == 0, res.output
    [imported] = json.loads(res.stdout)
    assert (imported["chart"], imported["version"]) == ("labdemo", "0.1.0")
    kinds = sorted(s["kind"] for s in imported["stored"])
    assert kinds == ["oci", "repo"]
    entry = ChartCache().lookup(REF)
    assert entry is not None and entry.origin == f"imported from {archive}"
    assert entry.path.read_bytes() == archive.read_bytes()
    listed = run(root, "charts", "list", "-o", "json")
    assert {e["origin"] for e in json.loads(listed.stdout)} == {f"imported from {archive}"}


def test_import_packages_a_chart_folder(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helm = require_real_helm()
    monkeypatch.setenv("PATH", str(helm.parent))
    write_chart_experiment(root, "one", helm=REPO)
    res = run(root, "charts", "import", str(FIXTURE_CHARTS / "labdemo"))
    assert res.exit_code == 0, res.output
    entry = ChartCache().lookup(REF)
    assert entry is not None and entry.size > 0


def test_import_refuses_a_chart_no_pin_names(root: Path, archive: Path, tmp_path: Path) -> None:
    write_chart_experiment(root, "one", helm=REPO.replace("0.1.0", "0.2.0"))
    res = run(root, "charts", "import", str(archive))
    assert res.exit_code == 2
    assert f"{archive}: chart labdemo 0.1.0 is not pinned by the catalog (the catalog pins labdemo at 0.2.0)" in res.output
    assert "Traceback" not in res.output
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"not a tarball")
    res = run(root, "charts", "import", str(junk))
    assert res.exit_code == 2 and f"{junk}: not a chart archive" in res.output
    assert ChartCache().entries() == []
