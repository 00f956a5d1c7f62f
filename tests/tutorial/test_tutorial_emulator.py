"""Tutorials on the API emulator (tier 2): checkpoint progression with a scripted learner (the
test plays the learner and the controllers), non-interactive runs with JUnit entries per
checkpoint, resume after Ctrl-C, `lab tutorial check` from a second terminal, and the rule that
credentials reach the learner's screen only."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from illm_lab import lifecycle
from illm_lab.base import events
from illm_lab.base.errors import UsageError
from illm_lab.cli.main import app
from illm_lab.reports.conduct import ConductReport
from illm_lab.tutorial.progress import ProgressStore
from illm_lab.tutorial.session import Step
from tests.conduct.test_conduct_emulator import labelled
from tests.support.emulator import LabEmulator
from tests.support.reports import single
from tests.tutorial.conftest import FIXTURES, NS, ScriptedLearner, note, wait_for_wake

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]

SECRET = "tutorial-s3cret-value"


def forward_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lab-forward")]


def cli(emulator: LabEmulator, *args: str) -> Any:
    return CliRunner().invoke(app, ["--experiments-dir", str(FIXTURES), *args,
                                    "--kubeconfig", str(emulator.kubeconfig)])


def session(emulator: LabEmulator, learner: ScriptedLearner, *, keep: bool = False, resume: bool = False,
            events_file: Path | None = None) -> ConductReport:
    request = lifecycle.tutorial_request(lifecycle.ConductRequest(
        names=["lab-tutorial"], kubeconfig=emulator.kubeconfig, keep=keep, interactive=True,
        learner=learner, resume=resume, reuse=resume, experiments_dir=FIXTURES, events_file=events_file,
    ))
    recorder = events.EventCollector()
    [report] = lifecycle.conduct_many(request, recorder)
    return report


def state_files(lab_env: Path) -> str:
    return "\n".join(p.read_text() for p in (lab_env / "state").rglob("*.json"))


def test_ci_runs_checkpoints_as_checks_with_junit_entries(tut: LabEmulator, tmp_path: Path, lab_env: Path) -> None:
    junit, events_file = tmp_path / "report.xml", tmp_path / "events.jsonl"
    res = cli(tut, "tutorial", "start", "lab-tutorial", "--ci", "-o", "json", "--junit", str(junit),
              "--events", str(events_file))
    assert res.exit_code == 0, res.output
    report = single(res.stdout)
    assert [(c.get("checkpoint"), c["name"], c["passed"]) for c in report["checks"]] == [
        (None, "app rolled out", True),
        ("open-the-app", "the app answers through the tunnel", True),
        ("leave-a-note", "the note has the answer", True),
        ("sign-the-review", "the review is signed", True),
    ]
    assert "(port-forward)" in report["checks"][1]["message"]
    cases = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase")]
    assert cases == ["app rolled out", "open-the-app: the app answers through the tunnel",
                     "leave-a-note: the note has the answer", "sign-the-review: the review is signed"]
    assert labelled(tut) == [] and tut.get("v1", "ConfigMap", NS, "note") is None  # solutions torn down
    assert forward_threads() == []
    assert SECRET not in events_file.read_text() + junit.read_text() + res.stdout + state_files(lab_env)


def test_ci_fails_a_checkpoint_whose_solution_does_not_satisfy_it(tut: LabEmulator) -> None:
    res = cli(tut, "tutorial", "start", "lab-tutorial", "--ci", "-o", "json", "--set", "answer=41",
              "--check-timeout", "1s")
    assert res.exit_code == 1, res.output
    failed = [c for c in single(res.stdout)["checks"] if not c["passed"]]
    assert [(c["checkpoint"], c["name"]) for c in failed] == [("leave-a-note", "the note has the answer")]
    assert 'data.answer: expected 42, got 41' in failed[0]["message"].replace("'", "")


def test_session_walks_the_checkpoints(tut: LabEmulator, tmp_path: Path, lab_env: Path) -> None:
    def learner_writes_note(learner: ScriptedLearner, step: Step, _wake: Any) -> str:
        note(tut)
        return "check"

    learner = ScriptedLearner(["check", "hint", "check", learner_writes_note, "skip", "check", "quit"])
    events_file = tmp_path / "events.jsonl"
    report = session(tut, learner, events_file=events_file)

    assert report.verdict == "passed", report.error
    assert learner.shown == ["open-the-app", "leave-a-note", "sign-the-review", ""]  # then: explore
    assert any(name.startswith("lab-forward-app") for name in learner.threads_at_ask)  # still open
    intro = learner.intro
    assert intro is not None and [e.name for e in intro.endpoints] == ["app"]
    endpoint = intro.endpoints[0]
    assert endpoint.via == "port-forward" and endpoint.url and endpoint.url.startswith("http://127.0.0.1:")
    assert endpoint.url.endswith("/readyz") and endpoint.credentials == {"password": SECRET}
    assert any(name.startswith("lab-forward-app") for name in learner.threads_at_ask)
    assert [(name, v.passed) for name, v in learner.verdicts] == [
        ("open-the-app", True), ("leave-a-note", False), ("leave-a-note", True)]
    assert "ConfigMap tut/note not found" in learner.verdicts[1][1].message
    assert learner.hints == ["`kubectl -n tut create configmap note --from-literal=answer=42`"]
    assert learner.summary is not None and learner.summary.skipped == ["sign-the-review"]

    by_checkpoint = {c.checkpoint: c for c in report.checks if c.checkpoint}
    assert by_checkpoint["sign-the-review"].skipped and by_checkpoint["leave-a-note"].passed
    assert [s.name for s in report.steps][-3:] == ["checks", "tutorial", "teardown"]
    assert labelled(tut) == [] and forward_threads() == []

    path = ProgressStore().path("lab-tutorial")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert {k: v["state"] for k, v in saved["checkpoints"].items()} == {
        "open-the-app": "passed", "leave-a-note": "passed", "sign-the-review": "skipped"}
    assert saved["session"] is None
    kinds = [json.loads(line)["event"] for line in events_file.read_text().splitlines()]
    assert kinds.count("checkpoint.started") == 3 and kinds.count("checkpoint.finished") == 4
    assert SECRET not in events_file.read_text() + state_files(lab_env)


def test_ctrl_c_keeps_with_keep_and_resume_continues(tut: LabEmulator, lab_env: Path) -> None:
    first = ScriptedLearner(["check", "interrupt"])
    report = session(tut, first, keep=True)
    assert report.interrupted and report.exit_code == 130 and report.kept
    assert "Deployment/app" in labelled(tut)
    assert forward_threads() == []
    saved = ProgressStore().load("lab-tutorial")
    assert saved is not None and saved.state("open-the-app") == "passed" and saved.session is None
    with pytest.raises(UsageError, match="`lab tutorial resume lab-tutorial` continues it"):
        session(tut, ScriptedLearner([]))

    def write_both(learner: ScriptedLearner, step: Step, _wake: Any) -> str:
        note(tut)
        note(tut, "review", verdict="ok")
        return "check"

    second = ScriptedLearner([write_both, "check", "quit"])
    resumed = session(tut, second, resume=True)
    assert resumed.verdict == "passed", resumed.error
    assert second.shown == ["leave-a-note", "sign-the-review", ""]
    assert second.intro is not None and second.intro.done == 1
    assert [c.message for c in resumed.checks if c.checkpoint == "open-the-app"] == ["passed in an earlier session"]
    assert labelled(tut) == [] and forward_threads() == []


def test_ctrl_c_without_keep_tears_down(tut: LabEmulator) -> None:
    learner = ScriptedLearner(["interrupt"])
    report = session(tut, learner)
    assert report.interrupted and not report.kept
    assert [s.name for s in report.steps][-2:] == ["tutorial", "teardown"]
    assert labelled(tut) == [] and forward_threads() == []


def test_resume_without_progress_is_a_usage_error(tut: LabEmulator) -> None:
    res = cli(tut, "tutorial", "resume", "lab-tutorial")
    assert res.exit_code == 2 and "lab tutorial start lab-tutorial" in res.stderr


def test_check_from_a_second_terminal_moves_the_session_on(tut: LabEmulator, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def second_terminal(learner: ScriptedLearner, step: Step, wake: Any) -> str:
        not_yet = subprocess.run(
            [sys.executable, "-m", "illm_lab", "--experiments-dir", str(FIXTURES), "tutorial", "check",
             "-o", "json", "--check-timeout", "1s"],
            capture_output=True, text=True, timeout=60, env=os.environ.copy())
        seen["not_yet"] = not_yet
        note(tut)
        done = subprocess.run(
            [sys.executable, "-m", "illm_lab", "--experiments-dir", str(FIXTURES), "tutorial", "check",
             "-o", "json"], capture_output=True, text=True, timeout=60, env=os.environ.copy())
        seen["done"] = done
        return wait_for_wake(wake)

    learner = ScriptedLearner(["check", second_terminal, "quit"])
    report = session(tut, learner)
    assert seen["not_yet"].returncode == 1, seen["not_yet"].stderr
    assert seen["done"].returncode == 0, seen["done"].stderr
    result = json.loads(seen["done"].stdout)
    assert result["checkpoint"] == "leave-a-note" and result["passed"] and result["sessionNotified"]
    assert result["next"] == "sign-the-review"
    assert learner.shown == ["open-the-app", "leave-a-note", "sign-the-review"]
    assert [(n, v.passed, v.by) for n, v in learner.verdicts][-1] == ("leave-a-note", True, "check")
    assert learner.summary is not None and learner.summary.quit and learner.summary.remaining == ["sign-the-review"]
    assert report.verdict == "passed" and labelled(tut) == []


def test_check_without_a_tutorial_in_progress(tut: LabEmulator) -> None:
    res = cli(tut, "tutorial", "check")
    assert res.exit_code == 2 and "no tutorial in progress" in res.stderr


def test_start_refuses_an_experiment_without_checkpoints(tut: LabEmulator) -> None:
    res = CliRunner().invoke(app, ["--experiments-dir", str(Path(__file__).resolve().parents[2] / "experiments"),
                                   "tutorial", "start", "hello-app", "--ci"])
    assert res.exit_code == 2 and "not a tutorial" in res.stderr


def test_a_tutorial_without_checkpoints_opens_its_services_until_quit(tut: LabEmulator, tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    shutil.copytree(FIXTURES / "lab-tutorial", root / "lab-tutorial")
    manifest = root / "lab-tutorial" / "experiment.yaml"
    manifest.write_text(manifest.read_text().split("    checkpoints:")[0])
    learner = ScriptedLearner(["check", "quit"])
    request = lifecycle.tutorial_request(lifecycle.ConductRequest(
        names=["lab-tutorial"], kubeconfig=tut.kubeconfig, interactive=True, learner=learner, experiments_dir=root,
    ))
    [report] = lifecycle.conduct_many(request, events.EventCollector())
    assert report.verdict == "passed", report.error
    assert learner.shown == [""] and learner.intro is not None and learner.intro.total == 0
    assert learner.intro.endpoints[0].url and any(n.startswith("lab-forward") for n in learner.threads_at_ask)
    assert labelled(tut) == [] and forward_threads() == []


def test_parallel_runs_at_a_terminal_still_run_the_checkpoints(tut: LabEmulator, tmp_path: Path) -> None:
    """--parallel has no learner session: checkpoints must run as checks, never be dropped."""
    from tests.support.catalogs import MINIMAL, write_experiment

    root = tmp_path / "experiments"
    shutil.copytree(FIXTURES / "lab-tutorial", root / "lab-tutorial")
    write_experiment(root, "demo", MINIMAL.format(name="demo").split("    - name: app answers")[0])
    request = lifecycle.ConductRequest(
        names=["lab-tutorial", "demo"], kubeconfig=tut.kubeconfig, interactive=True,
        learner=ScriptedLearner([]), parallel=2, experiments_dir=root,
    )
    reports = {r.experiment: r for r in lifecycle.conduct_many(request, events.EventCollector())}
    checkpoints = [c.checkpoint for c in reports["lab-tutorial"].checks if c.checkpoint]
    assert checkpoints == ["open-the-app", "leave-a-note", "sign-the-review"]
    assert reports["lab-tutorial"].passed
