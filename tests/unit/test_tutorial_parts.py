"""Tutorial building blocks without a cluster: the tutorial section of the manifest, lint of
instructions and solutions, saved progress (atomic, private, locked, with a nudge to a running
session), JUnit entries for skipped checkpoints, and `lab tutorial list|show|reset` offline."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from illm_lab.authoring.lint import lint_folder
from illm_lab.cli.main import app
from illm_lab.model.experiment import Experiment, parse_secret_key_ref
from illm_lab.reports import junit
from illm_lab.reports.conduct import ConductReport
from illm_lab.tutorial import progress as pr
from tests.support.import_probe import IMPORT_PROBE
from tests.tutorial.conftest import FIXTURES

CHECK = {"name": "c", "ready": {"kind": "Deployment", "name": "d", "namespace": "n"}}


def manifest(tutorial: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": "x", "title": "X", "phase": "1", "type": "tutorial"},
        "spec": {"tutorial": tutorial},
    }


def checkpoint(name: str = "one", **extra: Any) -> dict[str, Any]:
    return {"name": name, "title": "One", "instructions": "Do it.", "checks": [CHECK], **extra}


def test_tutorial_section_is_validated() -> None:
    exp = Experiment.model_validate(manifest({
        "services": [{"name": "grafana", "service": "o/g:80", "credentials": {"password": "o/g#admin-password"}}],
        "checkpoints": [checkpoint(hint="Try harder.", solution=["s.yaml.j2"])],
    }))
    tutorial = exp.spec.tutorial
    assert tutorial is not None and tutorial.services[0].cluster == "target"
    assert tutorial.checkpoints[0].solution == ["s.yaml.j2"]
    assert parse_secret_key_ref("o/g#admin-password") == ("o", "g", "admin-password")


@pytest.mark.parametrize(("tutorial", "message"), [
    ({"services": [{"name": "Grafana", "service": "o/g:80"}]}, "should match pattern"),
    ({"services": [{"name": "g", "service": "g:80"}]}, "namespace/name:port"),
    ({"services": [{"name": "g", "service": "o/g:80", "credentials": {"p": "o/g"}}]}, "namespace/secret#key"),
    ({"services": [{"name": "g", "service": "o/g:80", "path": "x"}]}, "path must start with /"),
    ({"services": [{"name": "g", "service": "o/g:80", "cluster": "hub"}]}, "cluster hub is not declared"),
    ({"checkpoints": [checkpoint(), checkpoint()]}, "duplicate checkpoint names: one"),
    ({"checkpoints": [checkpoint(checks=[])]}, "at least 1 item"),
    ({"checkpoints": [checkpoint(solution=[])]}, "at least 1 item"),
])
def test_tutorial_section_errors(tutorial: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Experiment.model_validate(manifest(tutorial))


def tutorial_experiment(root: Path, instructions: str, *, solution: str | None = "solutions/s.yaml.j2",
                        hint: str = "") -> Path:
    folder = root / "tut"
    (folder / "solutions").mkdir(parents=True)
    (folder / "README.md").write_text("# tut\n")
    lines = [
        "apiVersion: lab.illm.io/v1alpha1",
        "kind: Experiment",
        "metadata: {name: tut, title: T, phase: '1', type: tutorial}",
        "spec:",
        "  params:",
        "    answer: {type: string, default: '42'}",
        "  tutorial:",
        "    services:",
        "      - {name: app, service: 'demo/app:80'}",
        "    checkpoints:",
        "      - name: one",
        "        title: One",
        "        checks:",
        "          - name: note exists",
        "            assert:",
        "              resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: note, namespace: demo}}",
        f"        instructions: {json.dumps(instructions)}",
    ]
    if hint:
        lines.append(f"        hint: {json.dumps(hint)}")
    if solution:
        lines.append(f"        solution: [{solution}]")
    (folder / "experiment.yaml").write_text("\n".join(lines) + "\n")
    (folder / "solutions" / "s.yaml.j2").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: note, namespace: demo}\n"
        "data: {answer: {{ params.answer | quote }}}\n")
    return folder


def test_lint_renders_instructions_with_endpoints_and_counts_solution_objects(tmp_path: Path) -> None:
    folder = tutorial_experiment(tmp_path, "Open {{ endpoints.app.url }} and write {{ params.answer }}.")
    result = lint_folder(folder)
    assert result.ok, [str(f) for f in result.findings]
    assert result.objects == 1  # the solution's ConfigMap, schema-checked like any object


def test_lint_finds_undefined_names_in_instructions_and_hints(tmp_path: Path) -> None:
    folder = tutorial_experiment(tmp_path, "Open {{ endpoints.nope.url }}.", hint="{{ params.missing }}")
    errors = [f for f in lint_folder(folder).findings if f.severity == "error"]
    assert len(errors) == 2
    assert "checkpoint one instructions: undefined" in errors[0].message and "nope" in errors[0].message
    assert errors[0].where.endswith("experiment.yaml:17")
    assert errors[1].message == "checkpoint one hint: unknown param missing"


def test_lint_wants_the_checked_object_rendered_by_a_solution(tmp_path: Path) -> None:
    folder = tutorial_experiment(tmp_path, "Do it.", solution=None)
    errors = [f.message for f in lint_folder(folder).findings if f.severity == "error"]
    assert errors == ["check 'note exists': target ConfigMap demo/note is not among the rendered objects, and nothing rendered can create it"]


def test_progress_is_private_atomic_and_shared(tmp_path: Path) -> None:
    store = pr.ProgressStore(tmp_path / "tutorials")
    with store.update("tut", "tut") as progress:
        progress.record("one", pr.PASSED, by="session", message="ok")
    path = store.path("tut")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = store.load("tut")
    assert loaded is not None and loaded.first_open(["one", "two"]) == "two"

    def bump(name: str) -> None:
        with store.update("tut") as p:
            p.record(name, pr.SKIPPED, by="check")

    threads = [threading.Thread(target=bump, args=(f"cp{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = store.load("tut")
    assert final is not None and len(final.checkpoints) == 9  # no update lost
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert store.reset("tut") and store.load("tut") is None and not store.reset("tut")


def test_notify_reaches_a_live_session_only(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as wake:
        wake.bind(("127.0.0.1", 0))
        wake.settimeout(5)
        progress = pr.Progress("tut", "tut", session={"pid": os.getpid(), "notify": wake.getsockname()[1]})
        assert pr.notify(progress)
        assert wake.recv(64) == b"progress"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = pr.Progress("tut", "tut", session={"pid": int(dead.stdout), "notify": 9})
    assert not gone.session_alive and not pr.notify(gone)


def test_junit_marks_skipped_checkpoints() -> None:
    report = {"experiment": "tut", "durationSeconds": 1.0, "checks": [
        {"name": "a", "type": "http", "passed": True, "message": "ok", "checkpoint": "one"},
        {"name": "Two", "type": "checkpoint", "passed": True, "message": "skipped by the learner",
         "checkpoint": "two", "skipped": True},
    ]}
    suite = junit.build([ConductReport.from_dict(report)]).find("testsuite")
    assert suite is not None and suite.get("skipped") == "1" and suite.get("tests") == "2"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["one: a", "two: Two"]
    assert cases[1].find("skipped") is not None and cases[0].find("skipped") is None
    ET.tostring(suite)


def test_list_show_reset_offline() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["--experiments-dir", str(FIXTURES), "tutorial", "list", "-o", "json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == [{"name": "lab-tutorial", "title": "Test tutorial — a demo app and two notes",
                                          "phase": "1", "checkpoints": 3, "progress": "not started"}]
    shown = runner.invoke(app, ["--experiments-dir", str(FIXTURES), "tutorial", "show", "lab-tutorial", "-o", "json"])
    data = json.loads(shown.stdout)
    assert data["checkpoints"][0]["instructions"].startswith("Open **http://127.0.0.1:8080/readyz**")
    assert data["services"][0]["credentials"] == ["password"]
    assert "tutorial-s3cret-value" not in shown.stdout
    with pr.ProgressStore().update("lab-tutorial", "lab-tutorial") as progress:
        progress.record("open-the-app", pr.PASSED, by="session")
    listed = runner.invoke(app, ["--experiments-dir", str(FIXTURES), "tutorial", "list", "-o", "json"])
    assert json.loads(listed.stdout)[0]["progress"] == "1/3"
    reset = runner.invoke(app, ["--experiments-dir", str(FIXTURES), "tutorial", "reset", "lab-tutorial"])
    assert reset.exit_code == 0 and "progress of lab-tutorial reset" in reset.stderr


def test_tutorial_list_and_show_do_not_import_kubernetes() -> None:
    probe = IMPORT_PROBE
    env = {**os.environ, "LAB_EXPERIMENTS_DIR": str(FIXTURES)}
    for args in (["tutorial", "--help"], ["tutorial", "list"], ["tutorial", "show", "lab-tutorial"]):
        proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env,
                              timeout=60)
        assert "CLEAN 0" in proc.stderr, (args, proc.stderr[-500:])


def test_show_opens_with_the_guide_introduction_and_links_what_to_read(tmp_path: Path) -> None:
    import shutil

    from illm_lab.tutorial.listing import introduction

    guide = "# Title\n\nWhy this matters.\n\n```sh\n## a shell comment, not a section\n```\n\n## Steps\n\nlater\n"
    assert introduction(guide) == "# Title\n\nWhy this matters.\n\n```sh\n## a shell comment, not a section\n```"
    assert introduction("no headings at all\n") == "no headings at all"

    shutil.copytree(FIXTURES / "lab-tutorial", tmp_path / "experiments" / "lab-tutorial")
    (tmp_path / "roadmap").mkdir()
    (tmp_path / "roadmap" / "phase-01-platform-bootstrap.md").write_text("# Phase 1\n")
    runner = CliRunner()
    args = ["--experiments-dir", str(tmp_path / "experiments"), "tutorial", "show", "lab-tutorial"]
    data = json.loads(runner.invoke(app, [*args, "-o", "json"]).stdout)
    assert data["introduction"].startswith("# The test tutorial")
    read = data["read"]
    assert read["guide"].endswith("lab-tutorial/GUIDE.md") and read["readme"].endswith("lab-tutorial/README.md")
    assert read["phase"].endswith("roadmap/phase-01-platform-bootstrap.md")
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "Open it, then leave two notes" in table.stdout
    assert "the experiment's README: " in table.stdout and "the roadmap phase: " in table.stdout
