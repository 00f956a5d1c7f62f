"""Roadmap parsing and the progress computed from roadmap/, experiments/, records and adrs/."""

from __future__ import annotations

from pathlib import Path

import pytest

from illm_lab.authoring import roadmap
from illm_lab.base.errors import InputError, UsageError
from illm_lab.catalog import fingerprint
from illm_lab.model.record import RECORD_FILE
from illm_lab.tutorial import progress as tutorial_progress
from tests.support.roadmaps import record, write_record, write_tree

TUTORIAL = """\
  tutorial:
    guide: README.md
    checkpoints:
      - {name: first, title: First, instructions: do it, checks: [{name: c, absent: {kind: Pod, name: x, namespace: demo}}]}
      - {name: second, title: Second, instructions: again, checks: [{name: c, absent: {kind: Pod, name: y, namespace: demo}}]}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path)


def progress(base: Path, learner: dict[str, set[str]] | None = None) -> roadmap.Progress:
    return roadmap.progress(base / "roadmap", base / "experiments", base / "adrs", learner=learner)


def make_tutorial(tree: Path, name: str) -> None:
    """Give an experiment two tutorial checkpoints, and record it again for its new files."""
    folder = tree / "experiments" / name
    manifest = folder / "experiment.yaml"
    manifest.write_text(manifest.read_text() + TUTORIAL)
    write_record(folder, record(name, passed=True, date="2026-11-22T00:00:00Z",
                                folder_hash=fingerprint.experiment_hash(folder)))


def states(status: roadmap.DocumentStatus) -> dict[str, str]:
    return {e.item.name: e.state for e in status.experiments}


def test_documents_titles_items_and_sections(tree: Path) -> None:
    road = roadmap.load(tree / "roadmap")
    assert [d.ident for d in road.phases] == ["1", "2", "3"]
    assert [d.ident for d in road.appendices] == ["A"]
    first = road.phases[0]
    assert first.title == "Basics" and first.kind == "phase"
    assert [(i.name, i.marked_planned) for i in first.items] == [
        ("alpha", False), ("beta", False), ("delta", True)
    ]
    assert first.items[0].description == "the first one"
    assert first.items[0].where.endswith("phase-01-basics.md:11")
    later = road.phases[2]
    assert [(i.name, i.section) for i in later.items] == [("epsilon", "3.1"), ("zeta", "3.2")]
    assert road.appendices[0].items[0].section == "A"
    assert road.warnings == ()


def test_states_follow_records_folders_and_marks(tree: Path) -> None:
    prog = progress(tree)
    phase1, phase2, phase3 = prog.phases
    # alpha: latest record passed (an older one failed); beta: latest failed (an older passed)
    assert states(phase1) == {"alpha": "validated", "beta": "built", "delta": "planned"}
    assert states(phase2) == {"gamma": "validated"}
    assert states(phase3) == {"epsilon": "missing", "zeta": "planned"}
    assert [p.state for p in prog.phases] == ["built", "validated", "not started"]
    assert phase1.counts == {"validated": 1, "stale": 0, "built": 1, "planned": 1, "missing": 0}
    alpha = phase1.experiments[0].record
    assert alpha is not None and alpha.passed and alpha.date.day == 20


def test_metrics_table(tree: Path) -> None:
    prog = progress(tree)
    assert roadmap.metrics(prog) == {
        "phases_total": 3, "phases_learner_completed": 0, "phases_validated": 1, "phases_built": 2,
        "experiments_total": 6, "experiments_validated": 2, "experiments_stale": 0,
        "experiments_built": 3, "experiments_planned": 2, "experiments_missing": 1,
        "appendix_experiments_total": 1, "appendix_experiments_validated": 0,
        "tutorials_total": 0, "tutorials_completed": 0, "checkpoints_total": 0, "checkpoints_passed": 0,
        "adrs_documented": 2, "technology_adrs": 0, "appendices_available": 1,
    }
    cols, rows = roadmap.metric_rows(prog)
    assert cols == ["METRIC", "VALUE"]
    table = dict((r[0], r[1]) for r in rows)
    assert table["Phases validated"] == "1 / 3 (33%)"
    assert table["Phases built"] == "2 / 3 (67%)"
    assert table["Experiments validated"] == "2 / 6 (33%)"
    assert table["Experiments stale"] == "0"
    assert table["ADRs documented"] == "2" and table["Appendices available"] == "1"
    assert "Phases learner-completed" not in table, "no learner progress given: no learner rows"
    _, phase_rows = roadmap.phase_rows(prog)
    assert phase_rows[0] == ["1", "Basics", "built", "1/3", "0", "1", "1", "0", "-"]


def test_unlisted_experiment_is_a_warning(tree: Path) -> None:
    prog = progress(tree)
    assert any("omega" in w and "not named" in w for w in prog.warnings)


def test_planned_mark_on_a_built_experiment_counts_it_and_warns(tree: Path) -> None:
    path = tree / "roadmap" / "phase-01-basics.md"
    path.write_text(path.read_text().replace("`alpha` —", "`alpha` (planned) —"))
    prog = progress(tree)
    assert states(prog.phases[0])["alpha"] == "validated"
    assert any("alpha is marked (planned)" in w for w in prog.warnings)


def test_a_record_with_a_failed_check_is_not_validated(tree: Path) -> None:
    folder = tree / "experiments" / "gamma"
    write_record(folder, record("gamma", passed=True, date="2026-11-22T00:00:00Z", failing_check=True,
                                folder_hash=fingerprint.experiment_hash(folder)))
    assert states(progress(tree).phases[1]) == {"gamma": "built"}


def test_a_record_of_changed_files_is_stale_and_does_not_count(tree: Path) -> None:
    (tree / "experiments" / "gamma" / "manifests" / "app.yaml.j2").write_text("# changed\n")
    prog = progress(tree)
    gamma = prog.phases[1].experiments[0]
    assert gamma.state == "stale" and gamma.record is not None
    assert gamma.record.passed and gamma.record.stale and not gamma.record.counts
    assert gamma.record.verdict == "passed, stale"
    assert prog.phases[1].state == "built", "a phase is not validated by a stale record"
    assert roadmap.metrics(prog)["experiments_stale"] == 1
    assert roadmap.metrics(prog)["experiments_validated"] == 1
    _, rows = roadmap.checklist_rows(prog.phases[1])
    assert rows[0][2] == "stale" and rows[0][3] == "2026-11-21 passed, stale"
    data = roadmap.detail(prog.phases[1])["checklist"][0]["record"]
    assert data["stale"] is True and data["counts"] is False and data["checks"] == 2


def test_a_record_without_an_experiment_hash_is_stale(tree: Path) -> None:
    write_record(tree / "experiments" / "gamma", record("gamma", passed=True, date="2026-11-22T00:00:00Z"))
    assert states(progress(tree).phases[1]) == {"gamma": "stale"}


def test_a_record_with_zero_checks_never_counts(tree: Path) -> None:
    folder = tree / "experiments" / "gamma"
    write_record(folder, record("gamma", passed=True, date="2026-11-22T00:00:00Z", checks=False,
                                folder_hash=fingerprint.experiment_hash(folder)))
    gamma = progress(tree).phases[1].experiments[0]
    assert gamma.state == "built" and gamma.record is not None
    assert gamma.record.checks == 0 and not gamma.record.counts
    assert gamma.record.verdict == "passed, no checks"


def test_the_record_itself_is_not_part_of_the_hash(tree: Path) -> None:
    folder = tree / "experiments" / "gamma"
    before = fingerprint.experiment_hash(folder)
    write_record(folder, record("gamma", passed=False, date="2026-11-23T00:00:00Z"))
    assert fingerprint.experiment_hash(folder) == before
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert fingerprint.experiment_hash(folder) == before
    (folder / "notes.md").write_text("new file\n")
    assert fingerprint.experiment_hash(folder) != before
    assert fingerprint.RECORD_FILE == RECORD_FILE


def test_phase_states_from_not_started_to_learner_completed(tree: Path) -> None:
    make_tutorial(tree, "gamma")
    prog = progress(tree)
    assert [p.state for p in prog.phases] == ["built", "validated", "not started"]
    gamma = prog.phases[1].experiments[0]
    assert gamma.tutorial == roadmap.TutorialProgress(("first", "second"), ())
    assert roadmap.tutorial_text(prog.phases[1]) == "0/1 done, 0/2 checkpoints"
    halfway = progress(tree, {"gamma": {"first", "gone-from-the-manifest"}})
    assert halfway.phases[1].state == "validated"
    assert halfway.phases[1].experiments[0].tutorial == roadmap.TutorialProgress(("first", "second"), ("first",))
    done = progress(tree, {"gamma": {"first", "second"}})
    assert [p.state for p in done.phases] == ["built", "learner-completed", "not started"]
    m = roadmap.metrics(done)
    assert (m["phases_learner_completed"], m["phases_validated"], m["tutorials_total"],
            m["tutorials_completed"], m["checkpoints_total"], m["checkpoints_passed"]) == (1, 1, 1, 1, 2, 2)
    table = dict((r[0], r[1]) for r in roadmap.metric_rows(done)[1])
    assert table["Phases learner-completed"] == "1 / 3 (33%)"
    assert table["Tutorial checkpoints passed"] == "2 / 2 (100%)"
    _, rows = roadmap.phase_rows(done)
    assert rows[1][2] == "learner-completed" and rows[1][-1] == "1/1 done, 2/2 checkpoints"
    _, rows = roadmap.checklist_rows(done.phases[1])
    assert rows[0][4] == "done"
    assert roadmap.detail_title(done.phases[1]).endswith("learner-completed · tutorials 1/1 done, 2/2 checkpoints")


def test_learner_completed_does_not_need_validated_experiments(tree: Path) -> None:
    make_tutorial(tree, "beta")   # phase 1: beta's latest record failed, delta is planned
    prog = progress(tree, {"beta": {"first", "second"}})
    assert prog.phases[0].state == "learner-completed"
    assert not prog.phases[0].validated and prog.phases[0].built


def test_a_phase_without_tutorials_is_never_learner_completed(tree: Path) -> None:
    prog = progress(tree, {"gamma": {"anything"}})
    assert prog.phases[1].state == "validated" and not prog.phases[1].learner_completed


def test_unreadable_manifest_leaves_the_tutorial_out_with_a_warning(tree: Path) -> None:
    (tree / "experiments" / "omega" / "experiment.yaml").write_text("spec: [unclosed\n")
    (tree / "experiments" / "gamma" / "experiment.yaml").write_text("spec: [unclosed\n")
    prog = progress(tree)
    assert prog.phases[1].experiments[0].tutorial is None
    assert any("gamma" in w and "tutorial checkpoints not read" in w for w in prog.warnings)


def test_learner_progress_from_the_store(tmp_path: Path) -> None:
    store = tutorial_progress.ProgressStore(tmp_path / "tutorials")
    assert tutorial_progress.passed_by_experiment(store) == ({}, [])
    with store.update("gamma", "gamma") as first:
        first.record("first", tutorial_progress.PASSED, by="session")
        first.record("second", tutorial_progress.FAILED, by="session")
    with store.update("gamma-again", "gamma") as again:
        again.record("second", tutorial_progress.PASSED, by="check")
    with store.update("beta", "beta") as beta:
        beta.record("first", tutorial_progress.SKIPPED, by="session")
    (store.root / "broken.json").write_text("{not json")
    passed, problems = tutorial_progress.passed_by_experiment(store)
    assert passed == {"gamma": {"first", "second"}, "beta": set()}
    assert len(problems) == 1 and "broken.json" in problems[0]


def test_technology_adrs_are_counted_apart(tree: Path) -> None:
    tech = tree / "roadmap" / "adrs"
    tech.mkdir()
    (tech / "0001-logging-stack.md").write_text("# 0001. Logging stack\n\n- Status: accepted\n")
    (tech / "README.md").write_text("# Technology choices\n")
    m = roadmap.metrics(progress(tree))
    assert m["technology_adrs"] == 1 and m["adrs_documented"] == 2


def test_find_phase_section_and_appendix(tree: Path) -> None:
    prog = progress(tree)
    status, section = roadmap.find(prog, "3.1")
    assert status.document.ident == "3" and section == "3.1"
    data = roadmap.detail(status, section)
    assert [e["name"] for e in data["checklist"]] == ["epsilon"]
    assert roadmap.find(prog, "a")[0].document.ident == "A"
    with pytest.raises(UsageError, match="no such phase"):
        roadmap.find(prog, "7")
    with pytest.raises(UsageError, match=r"no section 3\.9"):
        roadmap.find(prog, "3.9")


def bad(tree: Path, name: str, text: str) -> str:
    (tree / "roadmap" / name).write_text(text)
    with pytest.raises(InputError) as info:
        progress(tree)
    assert info.value.exit_code == 2
    return str(info.value)


def test_checklist_line_without_a_name_is_an_error(tree: Path) -> None:
    msg = bad(tree, "phase-02-done.md", "# P2\n\n## Experiments\n\n- [ ] gamma — no backticks\n")
    assert "phase-02-done.md:5:" in msg and "expected a checklist line" in msg


def test_name_that_is_not_a_dns_label_is_an_error(tree: Path) -> None:
    msg = bad(tree, "phase-02-done.md", "# P2\n\n## Experiments\n\n- [ ] `Gamma_1` — x\n")
    assert "phase-02-done.md:5:" in msg and "not an experiment name" in msg


def test_duplicate_experiment_names_name_both_places(tree: Path) -> None:
    msg = bad(tree, "phase-02-done.md", "# P2\n\n## Experiments\n\n- [ ] `alpha` — again\n")
    assert "already named at" in msg and "phase-01-basics.md:11" in msg


def test_missing_checklist_or_title_is_an_error(tree: Path) -> None:
    assert "no '## Experiments' section" in bad(tree, "phase-02-done.md", "# P2\n\nnothing\n")
    assert "no '# Title' heading" in bad(tree, "phase-02-done.md", "## Experiments\n")


def test_badly_named_phase_file_is_an_error(tree: Path) -> None:
    assert "phase-NN-title.md" in bad(tree, "phase-4-typo.md", "# x\n## Experiments\n")


def test_section_of_another_phase_is_an_error(tree: Path) -> None:
    msg = bad(tree, "phase-02-done.md", "# P2\n\n## Experiments\n\n### 3.1 Wrong\n")
    assert "section 3.1 does not belong to phase 2" in msg


def test_readme_is_required_and_its_links_must_resolve(tree: Path) -> None:
    (tree / "roadmap" / "phase-03-later.md").unlink()
    with pytest.raises(InputError, match=r"README.md:7: links to phase-03-later.md, which does not exist"):
        progress(tree)
    (tree / "roadmap" / "README.md").unlink()
    with pytest.raises(InputError, match=r"README\.md: roadmap overview not found"):
        progress(tree)


def test_document_not_linked_from_readme_is_a_warning(tree: Path) -> None:
    (tree / "roadmap" / "appendix-b-more.md").write_text("# B\n\n## Experiments\n")
    prog = progress(tree)
    assert any("appendix-b-more.md: not linked" in w for w in prog.warnings)


def test_missing_directories_are_usage_errors(tree: Path) -> None:
    with pytest.raises(UsageError, match="roadmap directory"):
        roadmap.progress(tree / "nope", tree / "experiments", tree / "adrs")
    with pytest.raises(UsageError, match="ADR directory"):
        roadmap.progress(tree / "roadmap", tree / "experiments", tree / "nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("experiment: alpha\n", "required field is missing"),
        ("not: [valid\n", "invalid YAML"),
        ("- a list\n", "must be a mapping"),
        ("", "validation record is empty"),
    ],
)
def test_broken_record_names_the_file(tree: Path, text: str, expected: str) -> None:
    path = write_record(tree / "experiments" / "alpha", text)
    with pytest.raises(InputError) as info:
        progress(tree)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_record_of_another_experiment_is_an_error(tree: Path) -> None:
    write_record(tree / "experiments" / "alpha", record("beta", passed=True, date="2026-11-22T00:00:00Z"))
    with pytest.raises(InputError, match=r"alpha/validation.yaml:3: experiment: 'beta'"):
        progress(tree)


def test_wrong_field_type_names_line_and_field(tree: Path) -> None:
    text = record("alpha", passed=True, date="2026-11-22T00:00:00Z").replace("passed: true\nchecks",
                                                                             "passed: perhaps\nchecks")
    write_record(tree / "experiments" / "alpha", text)
    with pytest.raises(InputError, match=r"alpha/validation.yaml:9: passed: "):
        progress(tree)
