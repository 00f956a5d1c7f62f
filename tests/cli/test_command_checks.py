"""Command checks are opt-in: conduct, validate and the tutorial commands refuse to run one
before touching anything unless `--allow-commands` (or `allowCommands: true` in the lab config);
show and lint say which programs an experiment would run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Lab
from tests.support.catalogs import MINIMAL, write_experiment
from tests.support.emulator import LabEmulator

COMMAND = "    - {name: local probe, command: {run: [sh, -c, 'touch ran']}}\n"
REFUSAL = ("lab: error: demo: check 'local probe' runs the local program 'sh' with your rights; "
           "pass --allow-commands to let it run (or set allowCommands: true in the lab config)")


@pytest.fixture
def with_command(catalog: Path) -> Path:
    write_experiment(catalog, "demo", MINIMAL.format(name="demo") + COMMAND)
    return catalog


def _no_runs() -> bool:
    return not (Path(os.environ["LAB_STATE_DIR"]) / "runs").exists()


@pytest.mark.parametrize("command", [
    ["conduct", "demo", "--ci"],
    ["validate", "demo"],
    ["tutorial", "check", "--experiment", "demo"],
])
def test_refused_before_anything_happens(lab: Lab, with_command: Path, command: list[str],
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    expected = REFUSAL
    if command[0] == "tutorial":  # a tutorial with a saved progress to check against
        from illm_lab.tutorial.progress import ProgressStore

        manifest = with_command / "demo" / "experiment.yaml"
        manifest.write_text(manifest.read_text() + (
            "  tutorial:\n    checkpoints:\n      - name: one\n        title: One\n"
            "        instructions: do it\n        checks:\n"
            "          - {name: local probe, command: {run: [sh, -c, 'touch ran']}}\n"))
        with ProgressStore().update("demo", "demo"):
            pass
        expected = REFUSAL.replace("your rights;", "your rights (and 1 more command checks);")
    res: Any = lab(*command)
    assert res.exit_code == 2, res.output
    assert [ln for ln in res.stderr.splitlines() if ln.strip()] == [expected]
    assert not (tmp_path / "ran").exists()
    assert _no_runs()  # no ledger run: nothing was deployed or connected


def test_the_flag_or_the_lab_config_lets_it_through(lab: Lab, with_command: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   emulator: LabEmulator) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    res: Any = lab("conduct", "demo", "--ci", "--allow-commands", "--context", "nowhere")
    assert res.exit_code != 0 and "--allow-commands" not in res.stderr  # past the gate: no cluster
    config = Path(os.environ["LAB_CONFIG"])
    config.write_text("allowCommands: true\n")
    res = lab("validate", "demo", "--context", "nowhere")
    assert "--allow-commands" not in res.stderr, res.output
    monkeypatch.setenv("KUBECONFIG", str(emulator.kubeconfig))
    assert lab("conduct", "demo", "--dry-run", "--ci").exit_code == 0  # a dry run runs no check


def test_an_experiment_without_command_checks_needs_no_flag(lab: Lab, reachable: LabEmulator) -> None:
    res: Any = lab("conduct", "demo", "--dry-run", "--ci")
    assert res.exit_code == 0, res.output
    assert "allow-commands" not in res.output


def test_show_and_lint_name_the_programs(lab: Lab, with_command: Path) -> None:
    res: Any = lab("show", "demo")
    assert res.exit_code == 0
    assert "  local probe: sh -c touch ran" in res.stdout
    data = json.loads(lab("show", "demo", "-o", "json").stdout)  # type: ignore[attr-defined]
    assert data["commands"] == [{"check": "local probe", "run": ["sh", "-c", "touch ran"]}]
    res = lab("lint", "demo")
    assert res.exit_code == 0, res.output
    assert "note: check 'local probe' runs the local program 'sh' on your machine" in res.output
