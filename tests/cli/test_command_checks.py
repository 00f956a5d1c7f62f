"""Command checks are opt-in: conduct, validate and the tutorial commands refuse to run one
before touching anything unless the experiment is in the catalog the user works in, was trusted
with `lab trust` as it is now, or `--allow-commands` (or `allowCommands: true` in the lab config)
is given; show, lint and a dry run say which programs an experiment would run."""

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


def refusal(folder: Path, *, more: str = "", changed: str = "") -> str:
    return (f"lab: error: demo: check 'local probe' runs the local program 'sh' with your rights{more}"
            f"{changed}; read what it runs (lab show demo), then `lab trust {folder}` to trust this "
            "experiment as it is now, or pass --allow-commands to let it run once")


@pytest.fixture
def with_command(catalog: Path) -> Path:
    write_experiment(catalog, "demo", MINIMAL.format(name="demo") + COMMAND)
    return catalog


@pytest.fixture
def elsewhere(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory outside the catalog's repository (no experiments/ in it or above)."""
    folder = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(folder)
    return folder


def _no_runs() -> bool:
    return not (Path(os.environ["LAB_STATE_DIR"]) / "runs").exists()


@pytest.mark.parametrize("command", [
    ["conduct", "demo", "--ci"],
    ["validate", "demo"],
    ["tutorial", "check", "--experiment", "demo"],
])
def test_refused_before_anything_happens(lab: Lab, with_command: Path, command: list[str],
                                         tmp_path: Path, elsewhere: Path) -> None:
    expected = refusal(with_command / "demo")
    if command[0] == "tutorial":  # a tutorial with a saved progress to check against
        from illm_lab.tutorial.progress import ProgressStore

        manifest = with_command / "demo" / "experiment.yaml"
        manifest.write_text(manifest.read_text() + (
            "  tutorial:\n    checkpoints:\n      - name: one\n        title: One\n"
            "        instructions: do it\n        checks:\n"
            "          - {name: local probe, command: {run: [sh, -c, 'touch ran']}}\n"))
        with ProgressStore().update("demo", "demo"):
            pass
        expected = refusal(with_command / "demo", more=" (and 1 more command checks)")
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
    assert lab("conduct", "demo", "--dry-run", "--ci").exit_code == 0  # the config allows them


def test_the_catalog_you_work_in_needs_no_trust(lab: Lab, with_command: Path, reachable: LabEmulator,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(with_command / "demo")  # inside the repository whose experiments/ it is
    res: Any = lab("conduct", "demo", "--dry-run", "--ci", "-o", "json")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)[0]["plan"]
    assert plan["commands"]["allowedBy"] == f"in the catalog you work in ({with_command.resolve()})"
    assert plan["commands"]["run"] == [{"check": "local probe", "argv": ["sh", "-c", "touch ran"]}]


def test_a_dry_run_lists_the_programs_and_is_refused_as_the_run_would_be(
        lab: Lab, with_command: Path, reachable: LabEmulator, elsewhere: Path) -> None:
    res: Any = lab("conduct", "demo", "--dry-run", "--ci", "-o", "json")
    assert res.exit_code == 2, res.output
    report = json.loads(res.stdout)[0]
    assert report["plan"]["commands"]["allowedBy"] is None
    assert report["plan"]["commands"]["run"][0]["argv"] == ["sh", "-c", "touch ran"]
    assert [s["name"] for s in report["steps"]][-1] == "commands"  # no cluster reached after it
    assert refusal(with_command / "demo").removeprefix("lab: error: demo: ") in res.stderr
    assert _no_runs()


def test_lab_trust_lets_one_experiment_run_until_it_changes(lab: Lab, with_command: Path,
                                                             reachable: LabEmulator, elsewhere: Path) -> None:
    folder = with_command / "demo"
    trusted: Any = lab("trust", str(folder))
    assert trusted.exit_code == 0, trusted.output
    assert f"trusted: {folder.resolve()}" in trusted.stdout
    assert "runs local probe: sh -c touch ran" in trusted.stdout
    store = Path(os.environ["LAB_STATE_DIR"]) / "trust.json"
    assert store.stat().st_mode & 0o777 == 0o600
    res: Any = lab("conduct", "demo", "--dry-run", "--ci", "-o", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["plan"]["commands"]["allowedBy"].startswith("trusted with lab trust on ")

    (folder / "manifests" / "app.yaml.j2").write_text((folder / "manifests" / "app.yaml.j2").read_text() + "\n")
    res = lab("conduct", "demo", "--ci")  # one changed file: trusted no more
    assert res.exit_code == 2
    assert refusal(folder, changed=", and it changed since you trusted it") in res.stderr
    listed = json.loads(lab("trust", "-o", "json").stdout)  # type: ignore[attr-defined]
    assert [(t["folder"], t["current"]) for t in listed] == [(str(folder.resolve()), False)]

    assert lab("trust", str(with_command)).exit_code == 0  # a catalog: each of its experiments
    assert json.loads(lab("trust", "-o", "json").stdout)[0]["current"] is True  # type: ignore[attr-defined]
    forgot: Any = lab("trust", "--forget", str(folder))
    assert forgot.exit_code == 0 and "forgotten: " in forgot.stdout
    assert json.loads(lab("trust", "-o", "json").stdout) == []  # type: ignore[attr-defined]
    assert lab("conduct", "demo", "--ci").exit_code == 2


def test_lab_trust_refuses_what_is_not_an_experiment(lab: Lab, tmp_path: Path) -> None:
    res: Any = lab("trust", str(tmp_path / "nothing"))
    assert res.exit_code == 2 and "not a folder" in res.stderr
    (tmp_path / "empty").mkdir()
    res = lab("trust", str(tmp_path / "empty"))
    assert res.exit_code == 2 and "no experiment.yaml" in res.stderr
    assert not (Path(os.environ["LAB_STATE_DIR"]) / "trust.json").exists()  # nothing recorded


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


def test_an_unreadable_trust_store_is_named_and_trusts_nothing(lab: Lab, with_command: Path,
                                                              elsewhere: Path) -> None:
    store = Path(os.environ["LAB_STATE_DIR"]) / "trust.json"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("{not json")
    res: Any = lab("conduct", "demo", "--ci")
    assert res.exit_code == 2
    assert f"{store}: unreadable trust store (JSONDecodeError): remove it to start over" in res.stderr
    assert not (elsewhere / "ran").exists()
