"""`lab conduct` end to end against the API emulator (tier 2): the test acts as the
controller, so readiness, failures and teardown are fast and deterministic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.support.demoapp import demo_app
from tests.support.emulator import LabEmulator
from tests.support.reports import single

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "tests" / "fixtures" / "junit-ant.xsd"
LAB_LABEL = "lab.illm.io/instance"


@pytest.fixture
def hello(emulator: LabEmulator) -> Iterator[LabEmulator]:
    emulator.auto_ready(["Deployment", "Job"], after=0.05)
    with demo_app() as url:
        emulator.register_backend("hello", "hello-app", 9898, url)
        emulator.register_backend("hello", "hello-app", "http", url)
        yield emulator


def lab(emulator: LabEmulator, *args: str) -> Any:
    return CliRunner().invoke(app, [
        "--experiments-dir", str(REPO / "experiments"), *args, "--kubeconfig", str(emulator.kubeconfig),
    ])


def labelled(emulator: LabEmulator) -> list[str]:
    found = []
    for api_version, kind in [("v1", "Namespace"), ("apps/v1", "Deployment"), ("v1", "Service"),
                              ("v1", "ConfigMap"), ("batch/v1", "Job")]:
        for obj in emulator.list(api_version, kind):
            if LAB_LABEL in ((obj.get("metadata") or {}).get("labels") or {}):
                found.append(f"{kind}/{obj['metadata']['name']}")
    return found


def test_hello_app_passes_and_leaves_nothing(hello: LabEmulator, tmp_path: Path) -> None:
    junit, events = tmp_path / "report.xml", tmp_path / "events.jsonl"
    res = lab(hello, "conduct", "hello-app", "--ci", "-o", "json", "--junit", str(junit), "--events", str(events))
    assert res.exit_code == 0, res.output
    report = single(res.stdout)
    assert report["verdict"] == "passed"
    assert [c["passed"] for c in report["checks"]] == [True] * 5
    assert report["checks"][-1]["type"] == "workflow"
    assert [s["name"] for s in report["steps"]] == [
        "render", "lint", "plan", "clusters", "deploy", "checks", "workflow", "teardown"]
    assert labelled(hello) == []
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(junit))
    kinds = [json.loads(line)["event"] for line in events.read_text().splitlines()]
    assert kinds[0] == "run.started" and kinds[-1] == "run.finished"
    assert kinds.count("check.finished") == 5 and "object.applied" in kinds and "object.deleted" in kinds


def test_failing_check_exits_1_with_diagnostics_and_tears_down(hello: LabEmulator) -> None:
    res = lab(hello, "conduct", "hello-app", "--ci", "--set", "replicas=1", "--check-timeout", "2s", "-o", "json")
    assert res.exit_code == 1, res.output
    report = single(res.stdout)
    failed = [c for c in report["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["all replicas available"]
    assert "status.availableReplicas: expected (>= 2), got 1" in failed[0]["message"]
    assert labelled(hello) == []


def test_keep_then_refuse_then_reuse_then_down(hello: LabEmulator) -> None:
    assert lab(hello, "conduct", "hello-app", "--ci", "--keep").exit_code == 0
    assert "Deployment/hello-app" in labelled(hello)
    again = lab(hello, "conduct", "hello-app", "--ci")
    assert again.exit_code == 2 and "is still deployed" in again.stderr
    assert lab(hello, "conduct", "hello-app", "--ci", "--reuse", "--keep").exit_code == 0
    status = json.loads(CliRunner().invoke(app, ["status", "-o", "json"]).stdout)
    assert status[0]["deployed"] > 0
    down = lab(hello, "down", "hello-app")
    assert down.exit_code == 0, down.output
    assert labelled(hello) == []
    assert "nothing of hello-app" in lab(hello, "down", "hello-app").stderr


def test_validate_runs_checks_against_a_kept_deployment(hello: LabEmulator) -> None:
    assert lab(hello, "conduct", "hello-app", "--ci", "--keep").exit_code == 0
    res = lab(hello, "validate", "hello-app", "-o", "json")
    assert res.exit_code == 0, res.output
    assert single(res.stdout)["verdict"] == "passed"
    assert lab(hello, "down", "hello-app").exit_code == 0


def test_unreachable_cluster_is_exit_3_and_one_line(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  cluster: {server: 'http://127.0.0.1:9'}\n"
        "contexts:\n- name: gone\n  context: {cluster: gone, user: u}\nusers:\n- name: u\n  user: {token: sekret-token}\n"
    )
    res = CliRunner().invoke(app, ["--experiments-dir", str(REPO / "experiments"), "conduct", "hello-app", "--ci",
                                   "--kubeconfig", str(kubeconfig)])
    assert res.exit_code == 3, res.output
    assert "sekret-token" not in res.output and "Traceback" not in res.output


def test_a_namespace_that_existed_before_is_used_but_never_deleted(hello: LabEmulator) -> None:
    hello.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hello", "labels": {"team": "x"}}})
    res = lab(hello, "conduct", "hello-app", "--ci", "-o", "json")
    assert res.exit_code == 0, res.output
    namespace = hello.get("v1", "Namespace", None, "hello")
    assert namespace is not None, "teardown deleted a namespace lab did not create"
    assert namespace["metadata"]["labels"] == {"team": "x"}
    assert labelled(hello) == []
