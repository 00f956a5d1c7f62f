"""Roadmap parsing and the progress computed from roadmap/, experiments/, records and adrs/."""

from __future__ import annotations

from pathlib import Path

import pytest

from illm_lab.authoring import roadmap
from illm_lab.base.errors import InputError, UsageError
from tests.support.roadmaps import record, write_record, write_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path)


def progress(base: Path) -> roadmap.Progress:
    return roadmap.progress(base / "roadmap", base / "experiments", base / "adrs")


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
    assert [p.state for p in prog.phases] == ["in progress", "complete", "not started"]
    assert phase1.counts == {"validated": 1, "built": 1, "planned": 1, "missing": 0}
    alpha = phase1.experiments[0].record
    assert alpha is not None and alpha.passed and alpha.date.day == 20


def test_metrics_table(tree: Path) -> None:
    prog = progress(tree)
    assert roadmap.metrics(prog) == {
        "phases_total": 3, "phases_complete": 1, "phases_in_progress": 1,
        "experiments_total": 6, "experiments_validated": 2, "experiments_built": 3,
        "experiments_planned": 2, "experiments_missing": 1,
        "appendix_experiments_total": 1, "appendix_experiments_validated": 0,
        "adrs_documented": 2, "appendices_available": 1,
    }
    cols, rows = roadmap.metric_rows(prog)
    assert cols == ["METRIC", "VALUE"]
    table = dict((r[0], r[1]) for r in rows)
    assert table["Phases complete"] == "1 / 3 (33%)"
    assert table["Phases in progress"] == "1 / 3 (33%)"
    assert table["Experiments validated"] == "2 / 6 (33%)"
    assert table["ADRs documented"] == "2" and table["Appendices available"] == "1"
    _, phase_rows = roadmap.phase_rows(prog)
    assert phase_rows[0] == ["1", "Basics", "in progress", "1/3", "1", "1", "0"]


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
    write_record(tree / "experiments" / "gamma",
                 record("gamma", passed=True, date="2026-11-22T00:00:00Z", failing_check=True))
    assert states(progress(tree).phases[1]) == {"gamma": "built"}


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
