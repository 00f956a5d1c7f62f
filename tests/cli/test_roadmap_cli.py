"""`lab roadmap` and `lab adr` through the CLI: tables, JSON shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.support.import_probe import IMPORT_PROBE
from tests.support.roadmaps import write_record, write_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path)


def lab(tree: Path, *args: str) -> Any:
    """`lab roadmap ...` against the fixture tree (adrs/ found next to roadmap/)."""
    return CliRunner().invoke(
        app, ["--experiments-dir", str(tree / "experiments"), "roadmap",
              "--roadmap-dir", str(tree / "roadmap"), *args],
    )


def adr(tree: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["adr", *args, "--adrs-dir", str(tree / "adrs")])


def test_help_lists_the_commands() -> None:
    res = CliRunner().invoke(app, ["--help"])
    assert res.exit_code == 0 and "roadmap" in res.stdout and "adr" in res.stdout
    res = CliRunner().invoke(app, ["adr", "--help"])
    assert res.exit_code == 0 and "new" in res.stdout and "list" in res.stdout
    res = CliRunner().invoke(app, ["roadmap", "--help"])
    assert res.exit_code == 0 and "--phase" in res.stdout and "--roadmap-dir" in res.stdout


def test_progress_table(tree: Path) -> None:
    res = lab(tree)
    assert res.exit_code == 0, res.output
    out = res.stdout
    for line in ("Phases validated", "1 / 3 (33%)", "Experiments validated", "2 / 6 (33%)",
                 "Experiments stale", "Tutorial checkpoints passed", "ADRs documented",
                 "Appendices available", "Basics", "built", "validated", "not started", "TUTORIALS"):
        assert line in out, line
    assert "omega" in res.stderr and "not named" in res.stderr


def test_progress_json_shape(tree: Path) -> None:
    res = lab(tree, "-o", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"metrics", "phases", "appendices", "warnings"}
    assert data["metrics"]["phases_validated"] == 1
    assert data["metrics"]["phases_learner_completed"] == 0
    assert data["metrics"]["experiments_validated"] == 2
    assert data["metrics"]["experiments_total"] == 6
    assert data["metrics"]["adrs_documented"] == 2
    assert data["metrics"]["appendices_available"] == 1
    phase1 = data["phases"][0]
    assert phase1 == {
        "id": "1", "kind": "phase", "title": "Basics",
        "file": str(tree / "roadmap" / "phase-01-basics.md"), "state": "built",
        "experiments": 3, "validated": 1, "stale": 0, "built": 1, "planned": 1, "missing": 0,
        "tutorials": {"tutorials": 0, "completed": 0, "checkpoints": 0, "passed": 0},
    }
    assert data["appendices"][0]["id"] == "A" and data["appendices"][0]["planned"] == 1


def test_phase_checklist_table(tree: Path) -> None:
    res = lab(tree, "--phase", "1")
    assert res.exit_code == 0, res.output
    assert "Phase 1: Basics — built" in res.stdout
    for name, state in (("alpha", "validated"), ("beta", "built"), ("delta", "planned")):
        line = next(ln for ln in res.stdout.splitlines() if f" {name} " in ln)
        assert state in line, line
    assert "2026-11-20 passed" in res.stdout and "2026-11-20 failed" in res.stdout


def test_phase_checklist_json(tree: Path) -> None:
    res = lab(tree, "--phase", "3", "-o", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["id"] == "3" and data["state"] == "not started" and data["section"] is None
    assert [(e["name"], e["section"], e["state"]) for e in data["checklist"]] == [
        ("epsilon", "3.1", "missing"), ("zeta", "3.2", "planned")
    ]
    res = lab(tree, "--phase", "1", "-o", "json")
    alpha = json.loads(res.stdout)["checklist"][0]
    assert alpha["record"]["passed"] is True and alpha["record"]["date"].startswith("2026-11-20")
    assert set(alpha) == {"name", "section", "state", "marked_planned", "description", "where", "record",
                          "tutorial"}
    assert alpha["record"]["stale"] is False and alpha["record"]["counts"] is True
    section = json.loads(lab(tree, "--phase", "3.2", "-o", "json").stdout)
    assert section["section"] == "3.2" and [e["name"] for e in section["checklist"]] == ["zeta"]
    appendix = json.loads(lab(tree, "--phase", "A", "-o", "json").stdout)
    assert appendix["kind"] == "appendix" and appendix["checklist"][0]["state"] == "planned"


def test_stale_record_and_learner_progress_through_the_cli(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("LAB_STATE_DIR", str(state))
    gamma = tree / "experiments" / "gamma"
    manifest = gamma / "experiment.yaml"
    manifest.write_text(manifest.read_text() + (
        "  tutorial:\n    guide: README.md\n    checkpoints:\n"
        "      - {name: only, title: Only, instructions: x, checks: [{name: c, absent: {kind: Pod, name: x, namespace: demo}}]}\n"
    ))
    res = lab(tree, "--phase", "2")
    assert res.exit_code == 0, res.output
    assert "stale" in res.stdout and "passed, stale" in res.stdout and "0/1" in res.stdout
    (state / "tutorials").mkdir(parents=True)
    (state / "tutorials" / "gamma.json").write_text(json.dumps({
        "version": 1, "experiment": "gamma", "instance": "gamma",
        "checkpoints": {"only": {"state": "passed"}},
    }))
    data = json.loads(lab(tree, "-o", "json").stdout)
    assert data["phases"][1]["state"] == "learner-completed"
    assert data["phases"][1]["stale"] == 1 and data["phases"][1]["validated"] == 0
    assert data["metrics"]["checkpoints_passed"] == 1 and data["metrics"]["experiments_stale"] == 1
    (state / "tutorials" / "other.json").write_text("{broken")
    res = lab(tree)
    assert res.exit_code == 0 and "left out of the tutorial progress" in res.stderr


def test_unknown_phase_is_a_usage_error(tree: Path) -> None:
    res = lab(tree, "--phase", "8")
    assert res.exit_code == 2 and "no such phase or appendix" in res.stderr


def test_broken_validation_record_exits_2_with_one_line(tree: Path) -> None:
    path = write_record(tree / "experiments" / "gamma", "experiment: gamma\npassed: true\n")
    res = lab(tree)
    assert res.exit_code == 2
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("lab: error:")]
    assert len(errors) == 1 and str(path) in errors[0], res.stderr
    assert "Traceback" not in res.output


def test_broken_roadmap_document_exits_2(tree: Path) -> None:
    (tree / "roadmap" / "phase-02-done.md").write_text("# P2\n\n## Experiments\n\n- [ ] gamma\n")
    res = lab(tree)
    assert res.exit_code == 2 and "phase-02-done.md:5: expected a checklist line" in res.stderr


def test_missing_roadmap_dir_exits_2(tree: Path) -> None:
    res = CliRunner().invoke(app, ["roadmap", "--roadmap-dir", str(tree / "nope"),
                                   "--adrs-dir", str(tree / "adrs")])
    assert res.exit_code == 2 and "roadmap directory" in res.stderr


def test_adr_new_prints_the_path_and_numbers_on(tree: Path) -> None:
    res = adr(tree, "new", "Use Talos by default")
    assert res.exit_code == 0, res.output
    path = Path(res.stdout.strip())
    assert path == tree / "adrs" / "0005-use-talos-by-default.md" and path.is_file()
    assert path.read_text().startswith("# 0005. Use Talos by default\n")
    assert adr(tree, "new", "Another").stdout.strip().endswith("0006-another.md")


def test_adr_list_table_and_json(tree: Path) -> None:
    res = adr(tree, "list")
    assert res.exit_code == 0, res.output
    assert "0001" in res.stdout and "First" in res.stdout and "accepted" in res.stdout
    data = json.loads(adr(tree, "list", "-o", "json").stdout)
    assert data == [
        {"number": 1, "id": "0001", "title": "First", "status": "accepted",
         "file": str(tree / "adrs" / "0001-first.md")},
        {"number": 4, "id": "0004", "title": "Fourth decision", "status": "Superseded by 0005",
         "file": str(tree / "adrs" / "0004-fourth.md")},
    ]


def test_adr_errors_exit_2(tree: Path) -> None:
    (tree / "adrs" / "0002-broken.md").write_text("no heading\n")
    res = adr(tree, "list")
    assert res.exit_code == 2 and "0002-broken.md:1:" in res.stderr
    res = adr(tree, "new", "")
    assert res.exit_code == 2 and "needs a title" in res.stderr
    res = CliRunner().invoke(app, ["adr", "list", "--adrs-dir", str(tree / "nope")])
    assert res.exit_code == 2 and "ADR directory" in res.stderr


def test_roadmap_and_adr_do_not_import_kubernetes(tree: Path) -> None:
    probe = IMPORT_PROBE
    env = {**os.environ, "LAB_EXPERIMENTS_DIR": str(tree / "experiments")}
    for args in (
        ["roadmap", "--roadmap-dir", str(tree / "roadmap")],
        ["roadmap", "--roadmap-dir", str(tree / "roadmap"), "--phase", "1", "-o", "json"],
        ["adr", "list", "--adrs-dir", str(tree / "adrs")],
        ["adr", "new", "Probe", "--adrs-dir", str(tree / "adrs")],
    ):
        proc = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert "CLEAN 0" in proc.stderr, (args, proc.stderr[-500:])
