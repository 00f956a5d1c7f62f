"""`lab apply` and `lab diff` through the CLI against the emulator: exit codes, JSON, messages."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from illm_lab.ledger import Ledger
from tests.cli.conftest import Lab
from tests.support.emulator import LabEmulator

pytestmark = pytest.mark.emulator


def run(lab: Lab, *args: str) -> Any:
    return lab(*args)


@pytest.fixture
def ready(emulator: LabEmulator) -> LabEmulator:
    emulator.auto_ready()
    return emulator


def cluster_args(emulator: LabEmulator) -> list[str]:
    return ["--kubeconfig", str(emulator.kubeconfig), "--context", "emulator"]


def test_apply_twice_then_change(lab: Lab, ready: LabEmulator) -> None:
    res = run(lab, "diff", "demo", *cluster_args(ready), "-o", "json")
    assert res.exit_code == 1, res.output  # changes: exit 1, like kubectl diff
    assert {d["action"] for d in json.loads(res.stdout)} == {"create"}
    assert ready.writes == []

    res = run(lab, "apply", "demo", *cluster_args(ready), "-o", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["counts"] == {"created": 4}
    assert data["clusters"]["target"]["context"] == "emulator"
    assert "Deployment demo/app created" in res.stderr and "ready after" in res.stderr
    assert "s3cr3t-value" not in res.output

    ready.clear_requests()
    res = run(lab, "apply", "demo", *cluster_args(ready), "-o", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"] == {"unchanged": 4}
    assert ready.writes == []

    res = run(lab, "diff", "demo", *cluster_args(ready), "--set", "replicas=3", "-o", "json")
    assert res.exit_code == 1, res.output  # changes: exit 1, like kubectl diff
    actions = {(d["kind"], d["name"]): d["action"] for d in json.loads(res.stdout)}
    assert actions[("Deployment", "app")] == "change"
    assert actions[("Service", "app")] == "unchanged"
    assert ready.writes == []  # a diff is a dry run

    res = run(lab, "apply", "demo", *cluster_args(ready), "--set", "replicas=3")
    assert res.exit_code == 0, res.output
    assert "1 configured, 3 unchanged" in res.stdout
    assert (ready.get("apps/v1", "Deployment", "demo", "app") or {})["spec"]["replicas"] == 3

    runs = Ledger().runs(instance="demo")
    assert len(runs) == 3 and all(r.state == "succeeded" for r in runs)


def test_diff_shows_a_unified_diff_and_masks_secrets(lab: Lab, ready: LabEmulator) -> None:
    assert run(lab, "apply", "demo", *cluster_args(ready)).exit_code == 0
    res = run(lab, "diff", "demo", *cluster_args(ready), "--set", "replicas=2", "--set", "token=other")
    assert res.exit_code == 1, res.output  # changes: exit 1, like kubectl diff
    assert "-  replicas: 1" in res.stdout and "+  replicas: 2" in res.stdout
    assert "change: Deployment demo/app" in res.stdout and "change: Secret demo/app-token" in res.stdout
    assert "other" not in res.stdout and "s3cr3t" not in res.stdout


def test_apply_prunes_what_is_no_longer_rendered(lab: Lab, ready: LabEmulator, catalog: Path) -> None:
    assert run(lab, "apply", "demo", *cluster_args(ready)).exit_code == 0
    app = catalog / "demo" / "manifests" / "app.yaml.j2"
    docs = app.read_text().split("---\n")
    app.write_text("---\n".join(d for d in docs if "kind: Secret" not in d))
    res = run(lab, "apply", "demo", *cluster_args(ready), "-o", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [(p["kind"], p["name"], p["action"]) for p in data["pruned"]] == [("Secret", "app-token", "deleted")]
    assert ready.get("v1", "Secret", "demo", "app-token") is None


def test_bad_kubeconfig_is_exit_2(lab: Lab, tmp_path: Path) -> None:
    bad = tmp_path / "kc"
    bad.write_text("clusters: [\n")
    res = run(lab, "apply", "demo", "--kubeconfig", str(bad))
    assert res.exit_code == 2
    assert res.stderr.startswith("lab: error: ") and "kubeconfig" in res.stderr and str(bad) in res.stderr
    assert "Traceback" not in res.output


def test_unreachable_cluster_is_exit_3_on_one_line(lab: Lab, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "very-secret-token"}}],
        "contexts": [{"name": "here", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "here",
    }))
    res = run(lab, "apply", "demo", "--kubeconfig", str(path))
    assert res.exit_code == 3
    lines = [line for line in res.stderr.splitlines() if line.startswith("lab: error")]
    assert len(lines) == 1 and "cannot reach the cluster" in lines[0] and "context here" in lines[0]
    assert "very-secret-token" not in res.output
    (failed,) = Ledger().runs(instance="demo")
    assert failed.state == "failed"


def test_target_context_wins_over_context(lab: Lab, ready: LabEmulator) -> None:
    res = run(lab, "apply", "demo", "--kubeconfig", str(ready.kubeconfig), "--context", "nope",
              "--target-context", "emulator", "-o", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["clusters"]["target"]["context"] == "emulator"


def test_conflict_is_exit_3_with_the_servers_message(lab: Lab, ready: LabEmulator) -> None:
    ready.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    ready.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app", "namespace": "demo"},
                 "spec": {"selector": {"app": "other"}, "ports": [{"port": 8080, "protocol": "TCP"}]}},
                manager="someone-else")
    res = run(lab, "apply", "demo", *cluster_args(ready))
    assert res.exit_code == 3
    assert "Service demo/app: " in res.stderr and "conflict" in res.stderr and "HTTP 409" in res.stderr
    res = run(lab, "apply", "demo", *cluster_args(ready), "--force-conflicts")
    assert res.exit_code == 0, res.output


def test_diff_after_apply_renders_charts_so_nothing_shows_as_delete(
    ready: LabEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.fakebin import FIXTURE_CHARTS, require_real_helm

    helm = require_real_helm()
    monkeypatch.setenv("PATH", str(helm.parent))
    root = Path(__file__).resolve().parents[1] / "fixtures" / "experiments-real"
    chart_lab = Lab(root)
    assert chart_lab("charts", "import", str(FIXTURE_CHARTS / "labpatterns")).exit_code == 0
    applied = chart_lab("apply", "chart-patterns", *cluster_args(ready))
    assert applied.exit_code == 0, applied.output
    res = chart_lab("diff", "chart-patterns", *cluster_args(ready), "-o", "json")
    assert res.exit_code == 0, res.output
    actions = {(d["kind"], d["name"]): d["action"] for d in json.loads(res.stdout)}
    assert actions[("StatefulSet", "pat")] == "unchanged"
    assert actions[("Matcher", "pat-equals")] == "unchanged"
    assert "delete" not in actions.values(), actions
