"""`lab doctor` with fake tools on a temporary PATH."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.support.fakebin import fake_tool

VERSIONS = {
    "helm": "v3.19.0+g3d8990f\n",
    "kubectl": "Client Version: v1.32.4\nKustomize Version: v5.5.0\n",
    "talosctl": "Client:\n\tTalos v1.11.5\n",
    "docker": "Docker version 27.3.1, build ce12230\n",
    "kind": "kind v0.24.0 go1.22.6 linux/amd64\n",
}


@pytest.fixture
def bindir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    monkeypatch.setenv("COLUMNS", "200")
    return path


def install(bindir: Path, **overrides: str | None) -> Path:
    record = bindir.parent / "calls"
    for name, out in {**VERSIONS, **overrides}.items():
        if out is not None:
            fake_tool(bindir, name, stdout=out, record=record)
    return record


def doctor(*args: str) -> Any:
    return CliRunner().invoke(app, ["doctor", *args])


def test_all_tools_found_reports_versions(bindir: Path) -> None:
    record = install(bindir)
    res = doctor("-o", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["ok"] is True
    found = {t["name"]: (t["status"], t["version"], t["path"]) for t in data["tools"]}
    assert found == {
        "helm": ("ok", "3.19.0", str(bindir / "helm")),
        "kubectl": ("ok", "1.32.4", str(bindir / "kubectl")),
        "talosctl": ("ok", "1.11.5", str(bindir / "talosctl")),
        "docker": ("ok", "27.3.1", str(bindir / "docker")),
        "kind": ("ok", "0.24.0", str(bindir / "kind")),
    }
    assert all(t["install"] is None for t in data["tools"])
    argvs = [json.loads(line) for line in record.read_text().splitlines()]
    assert ["version", "--short"] in argvs and ["version", "--client"] in argvs


def test_table_output(bindir: Path) -> None:
    install(bindir)
    res = doctor()
    assert res.exit_code == 0
    for name in VERSIONS:
        assert name in res.stdout
    assert "3.19.0" in res.stdout and "required" in res.stdout


def test_missing_helm_exits_1_and_says_how_to_install(bindir: Path) -> None:
    install(bindir, helm=None)
    res = doctor()
    assert res.exit_code == 1
    assert "lab: error: helm (required, pulls and renders Helm charts" in res.stderr
    assert "is missing: install 3.8 or later from https://helm.sh/docs/intro/install/" in res.stderr
    data = json.loads(doctor("-o", "json").stdout)
    helm = data["tools"][0]
    assert data["ok"] is False and helm["status"] == "missing" and helm["path"] is None


def test_old_helm_is_too_old(bindir: Path) -> None:
    install(bindir, helm="v3.7.2+g663a896\n")
    res = doctor("-o", "json")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["tools"][0]["status"] == "too old"


def test_missing_optional_tools_only_warn(bindir: Path) -> None:
    install(bindir, kind=None, talosctl=None, docker=None, kubectl=None)
    res = doctor()
    assert res.exit_code == 0, res.output
    assert "lab: warning: kind (optional, creates kind clusters (provider kind)) is missing" in res.stderr
    assert "https://kind.sigs.k8s.io/" in res.stderr


def test_broken_tool_is_unknown_not_a_crash(bindir: Path) -> None:
    install(bindir)
    fake_tool(bindir, "kind", stderr="segfault\n", exit_code=139)
    fake_tool(bindir, "docker", stdout="no version here\n")
    data = json.loads(doctor("-o", "json").stdout)
    by_name = {t["name"]: t for t in data["tools"]}
    assert by_name["kind"]["status"] == "unknown"
    assert "exit code 139" in by_name["kind"]["note"]
    assert by_name["docker"]["status"] == "unknown"
    assert by_name["docker"]["note"] == "could not read its version"
    assert data["ok"] is True


def test_helm_4_is_accepted_with_a_note(bindir: Path) -> None:
    install(bindir, helm="v4.0.0+gabc\n")
    res = doctor("-o", "json")
    assert res.exit_code == 0
    assert "not yet verified" in json.loads(res.stdout)["tools"][0]["note"]
