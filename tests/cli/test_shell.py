"""The shell and the CI contract: bare `lab`, `lab version`, help panels and examples, root options
after the command, `experiments/` found from a subfolder, completion, NO_COLOR, one JSON shape,
JSON errors, `--junit -`, `lab diff --context` naming the contexts, one timestamp format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from illm_lab.cli.handler import hoist_global_options, wants_json
from illm_lab.cli.main import app
from tests.cli.conftest import Lab
from tests.support.emulator import LabEmulator

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(app, list(args), **kwargs)


def test_bare_lab_prints_help_on_stdout_with_exit_0() -> None:
    res = invoke()
    assert res.exit_code == 0
    assert "Usage: lab" in res.stdout
    for panel in ("Offline authoring:", "Cluster:", "Learning:", "Hub:"):
        assert panel in res.stdout
    assert res.stdout.index("Offline authoring:") < res.stdout.index("Cluster:")


def test_version_command_and_flag_agree() -> None:
    assert invoke("version").stdout == invoke("--version").stdout
    assert invoke("version").stdout.startswith("lab ")


def test_main_commands_have_examples() -> None:
    for args in (["conduct"], ["render"], ["lint"], ["list"], ["apply"], ["diff"], ["tutorial", "start"]):
        res = invoke(*args, "--help")
        assert res.exit_code == 0 and "Examples:" in res.stdout, args


def test_completion_options_exist() -> None:
    res = invoke("--help")
    assert "--install-completion" in res.stdout and "--show-completion" in res.stdout


def test_root_options_after_the_command(lab: Lab, catalog: Path) -> None:
    res = CliRunner().invoke(app, ["list", "-o", "json", "--experiments-dir", str(catalog), "-q"])
    assert res.exit_code == 0, res.output
    assert [e["name"] for e in json.loads(res.stdout)] == ["demo"]
    res = CliRunner().invoke(app, ["render", "demo", "-v", f"--experiments-dir={catalog}"])
    assert res.exit_code == 0, res.output


def test_hoisting_leaves_option_values_and_double_dash_alone() -> None:
    assert hoist_global_options(["render", "x", "-v"]) == ["-v", "render", "x"]
    assert hoist_global_options(["--config", "c.yaml", "list", "-q"]) == ["--config", "c.yaml", "-q", "list"]
    assert hoist_global_options(["hub", "status", "--experiments-dir", "e"]) == [
        "--experiments-dir", "e", "hub", "status"]
    assert hoist_global_options(["conduct", "x", "--", "-v"]) == ["conduct", "x", "--", "-v"]
    assert wants_json(["show", "x", "-o", "json"]) and wants_json(["show", "--output=json"])
    assert not wants_json(["show", "x", "-o", "yaml"])


def test_experiments_found_from_a_subfolder(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from illm_lab.base import paths

    monkeypatch.delenv("LAB_EXPERIMENTS_DIR", raising=False)
    monkeypatch.chdir(catalog / "demo")
    assert paths.experiments_dir().resolve() == catalog.resolve()
    monkeypatch.chdir(catalog.parent)
    assert paths.experiments_dir() == Path("experiments")


def test_completion_of_names_params_phases_and_contexts(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from illm_lab.cli import options

    class Ctx:
        def __init__(self, params: dict[str, Any]) -> None:
            self.params = params

        def find_root(self) -> Any:
            return Ctx({"experiments_dir": catalog})

    ctx: Any = Ctx({"experiment": "demo"})
    assert options.complete_experiment(ctx, "de") == ["demo"]
    assert options.complete_experiment(ctx, "x") == []
    assert options.complete_phase(ctx, "") == ["3.1"]
    assert options.complete_set(ctx, "re") == ["replicas="]
    assert options.complete_set(Ctx({"experiments": ["demo"]}), "") == ["image=", "replicas=", "token="]
    kubeconfig = tmp_path / "kc.yaml"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncontexts:\n- {name: alpha, context: {}}\n"
                          "- {name: beta, context: {}}\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert options.complete_context(Ctx({}), "") == ["alpha", "beta"]
    assert options.complete_context(Ctx({"kubeconfig": tmp_path / "missing"}), "") == []


def test_completion_through_the_shell_protocol(catalog: Path) -> None:
    env = {**os.environ, "_LAB_COMPLETE": "complete_bash", "COMP_WORDS": "lab show d", "COMP_CWORD": "2",
           "LAB_EXPERIMENTS_DIR": str(catalog)}
    proc = subprocess.run([sys.executable, "-c", "from illm_lab.cli.main import main; main()"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert "demo" in proc.stdout.split()


def test_no_color_means_no_ansi(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    from illm_lab import ui

    monkeypatch.setenv("NO_COLOR", "1")
    console = ui.console._LazyConsole(stderr=False)
    with console.capture() as captured:
        console.print("[bold]name[/bold]")
    assert captured.get() == "name\n"


def test_conduct_and_validate_json_is_always_a_list(lab: Lab, reachable: LabEmulator) -> None:
    res = lab("conduct", "demo", "--dry-run", "--ci", "-o", "json")
    assert res.exit_code == 0, res.output
    reports = json.loads(res.stdout)
    assert isinstance(reports, list) and reports[0]["experiment"] == "demo"
    stamp = reports[0]["startedAt"]
    assert len(stamp) == 20 and stamp.endswith("Z") and stamp[10] == "T"


def test_json_error_object_on_failure(lab: Lab) -> None:
    res = lab("show", "nope", "-o", "json")
    assert res.exit_code == 2
    error = json.loads(res.stdout)["error"]
    assert error["exitCode"] == 2 and "nope" in error["message"] and "where" in error
    plain = lab("show", "nope")
    assert plain.exit_code == 2 and plain.stdout == ""


def test_junit_to_stdout_without_none_properties(lab: Lab, reachable: LabEmulator) -> None:
    res = lab("conduct", "demo", "--dry-run", "--ci", "--junit", "-")
    assert res.exit_code == 0, res.output
    assert "<testsuites" in res.stdout
    assert 'value="None"' not in res.stdout


def test_diff_with_an_unknown_context_lists_the_contexts(lab: Lab, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc.yaml"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: alpha\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: alpha, context: {cluster: c, user: u}}, {name: beta, context: {cluster: c, user: u}}]\n"
    )
    res = lab("diff", "demo", "--kubeconfig", str(kubeconfig), "--context", "nope")
    assert res.exit_code == 2
    assert "context 'nope' is unknown" in res.stderr and "alpha, beta" in res.stderr


def test_yaml_keeps_unicode(lab: Lab) -> None:
    from illm_lab import ui

    res = CliRunner().invoke(app, ["version"])  # rebinds the consoles to the runner's streams
    assert res.exit_code == 0
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        ui.yaml_out({"title": "a — b"})
    assert buffer.getvalue() == "title: a — b\n"


def test_status_table_shows_no_python_values(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from illm_lab import ui
    from illm_lab.ledger.status import StatusRow

    ui.status_table([StatusRow("r1", "demo", "demo", ["conduct", "demo"], "finished", checks_passed=1,
                               checks_total=1, deployed=0, clusters={"target": None})])
    printed = capsys.readouterr().out
    assert "None" not in printed and "[" not in printed
    assert "target=-" in printed and "conduct demo" in printed


def test_tutorial_list_puts_tutorials_with_checkpoints_first_in_phase_order() -> None:
    from illm_lab.tutorial.listing import TutorialRow

    rows = [TutorialRow(name, "", phase, checkpoints, "")
            for name, phase, checkpoints in [("a", "A", 2), ("b", "10", 1), ("c", "2", 3), ("d", "1", 0),
                                             ("e", "3.1", 1)]]
    assert [r.name for r in sorted(rows, key=TutorialRow.order)] == ["c", "e", "b", "a", "d"]
