"""`lab conduct --dry-run` fails the way the real run would: it resolves every role's provider and
asks each existing cluster for its version, so an unknown context exits 2 and an unreachable API
server or a missing tool exits 3 — creating nothing and writing no ledger run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Lab
from tests.support.emulator import LabEmulator
from tests.support.fakeclusters import make_fakes
from tests.support.reports import single


def _no_runs() -> bool:
    return not (Path(os.environ["LAB_STATE_DIR"]) / "runs").exists()


def _clusters_step(report: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["name"] == "clusters")


def test_a_reachable_cluster_passes_and_is_named(lab: Lab, reachable: LabEmulator) -> None:
    res: Any = lab("conduct", "demo", "--dry-run", "--ci", "-o", "json")
    assert res.exit_code == 0, res.output
    report = single(res.stdout)
    assert report["verdict"] == "planned"
    assert report["clusters"]["target"]["context"] == "emulator"
    assert report["clusters"]["target"]["version"].startswith("v")
    planned = report["plan"]["clusters"]["target"]  # the default provider, resolved
    assert (planned["provider"], planned["context"]) == ("existing", "emulator")
    assert "current context 'emulator'" in planned["chosenBy"]
    assert "emulator" in _clusters_step(report)["message"]
    assert _no_runs()


def test_an_unknown_context_exits_2_and_lists_the_known(lab: Lab, reachable: LabEmulator) -> None:
    res: Any = lab("conduct", "demo", "--dry-run", "--ci", "--context", "nope")
    assert res.exit_code == 2, res.output
    assert "nope" in res.stderr and "emulator" in res.stderr
    assert _no_runs()


def test_an_unreachable_api_server_exits_3(lab: Lab, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = tmp_path / "down.kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: down\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: down, context: {cluster: c, user: u}}]\n"
    )
    kubeconfig.chmod(0o600)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    res: Any = lab("conduct", "demo", "--dry-run", "--ci", "-o", "json")
    assert res.exit_code == 3, res.output
    report = single(res.stdout)
    assert report["verdict"] == "error" and _clusters_step(report)["status"] == "failed"
    assert _no_runs()


def test_no_cluster_and_no_tool_exits_3_as_the_real_run_would(lab: Lab,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no talosctl, kind or docker
    dry: Any = lab("conduct", "demo", "--dry-run", "--ci")
    real: Any = lab("conduct", "demo", "--ci")
    assert dry.exit_code == real.exit_code == 3, (dry.output, real.output)
    assert "no cluster to run on" in dry.stderr + dry.stdout


def test_a_cluster_lab_would_create_is_planned_not_made(lab: Lab, emulator: LabEmulator,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert emulator.kubeconfig is not None
    fakes = make_fakes(tmp_path, emulator.kubeconfig, with_helm=False).install()
    monkeypatch.setenv("PATH", str(fakes.bindir))
    Path(os.environ["LAB_CONFIG"]).write_text("providers: {target: kind}\n")
    res: Any = lab("conduct", "demo", "--dry-run", "--ci", "-o", "json")
    assert res.exit_code == 0, res.output
    report = single(res.stdout)
    assert report["clusters"]["target"]["plan"] == "would create kind cluster demo-target"
    assert all(c[:2] != ["create", "cluster"] for c in fakes.calls("kind"))
    assert _no_runs()

    fakes.remove("docker")  # the real run would fail: no Docker engine for kind's nodes
    res = lab("conduct", "demo", "--dry-run", "--ci")
    assert res.exit_code == 3, res.output
    assert "Docker" in res.stderr + res.stdout
