"""Independent checks run at the same time; the report keeps their declared order (tier 2)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.conduct.test_conduct_emulator import labelled
from tests.support.emulator import LabEmulator


def _experiment(root: Path) -> None:
    folder = root / "slow-checks"
    (folder / "manifests").mkdir(parents=True)
    (folder / "manifests" / "settings.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
         "data": {"level": "info"}}))

    def never(name: str, timeout: str) -> dict[str, object]:
        return {"name": name, "timeout": timeout, "assert": {"resource": {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "slow"}, "data": {"level": "debug"}}}}

    manifest = {
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": "slow-checks", "title": "two checks that time out", "phase": "1",
                     "type": "demo"},
        "spec": {
            "namespaces": {"slow": {}},
            "components": [{"name": "settings", "namespace": "slow",
                            "manifests": ["manifests/settings.yaml"]}],
            "checks": [never("first never holds", "2s"), never("second never holds", "3s"),
                       {"name": "settings exist", "ready": {"kind": "ConfigMap", "name": "settings",
                                                            "namespace": "slow"}}],
        },
    }
    (folder / "experiment.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def test_checks_step_takes_the_slowest_check_not_the_sum(emulator: LabEmulator, tmp_path: Path) -> None:
    _experiment(tmp_path / "experiments")
    res = CliRunner().invoke(app, [
        "--experiments-dir", str(tmp_path / "experiments"), "conduct", "slow-checks", "--ci",
        "-o", "json", "--kubeconfig", str(emulator.kubeconfig),
    ])
    assert res.exit_code == 1, res.output
    out = json.loads(res.stdout)
    report = out[0] if isinstance(out, list) else out  # one experiment: one report
    checks = report["checks"]
    assert [c["name"] for c in checks] == [
        "first never holds", "second never holds", "settings exist"]  # declared order
    assert [c["passed"] for c in checks] == [False, False, True]
    durations = [c["durationSeconds"] for c in checks[:2]]
    step = next(s for s in report["steps"] if s["name"] == "checks")["durationSeconds"]
    # both failing checks ran their full timeout, at the same time: the step is shorter than
    # their sum, and close to the slower of the two
    assert step < sum(durations), (step, durations)
    assert step < max(durations) + min(durations) / 2, (step, durations)
    assert labelled(emulator) == []
