"""The progress as plain data for the UI and JSON: metrics, rows, one phase's detail."""

from __future__ import annotations

import re
from typing import Any

from illm_lab.authoring.roadmap.states import DocumentStatus, ExperimentStatus, Progress
from illm_lab.base.errors import UsageError


def _percent(part: int, whole: int) -> str:
    return f"{part} / {whole} ({round(100 * part / whole) if whole else 0}%)"


def metrics(prog: Progress) -> dict[str, int]:
    core = [e for d in prog.phases for e in d.experiments]
    extra = [e for d in prog.appendices for e in d.experiments]
    tutorials = [t for d in prog.phases for t in d.tutorials]
    return {
        "phases_total": len(prog.phases),
        "phases_learner_completed": sum(d.learner_completed for d in prog.phases),
        "phases_validated": sum(d.validated for d in prog.phases),
        "phases_built": sum(d.built for d in prog.phases),
        "experiments_total": len(core),
        "experiments_validated": sum(e.state == "validated" for e in core),
        "experiments_stale": sum(e.state == "stale" for e in core),
        "experiments_built": sum(e.state in ("validated", "stale", "built") for e in core),
        "experiments_planned": sum(e.state == "planned" for e in core),
        "experiments_missing": sum(e.state == "missing" for e in core),
        "appendix_experiments_total": len(extra),
        "appendix_experiments_validated": sum(e.state == "validated" for e in extra),
        "tutorials_total": len(tutorials),
        "tutorials_completed": sum(t.done for t in tutorials),
        "checkpoints_total": sum(len(t.checkpoints) for t in tutorials),
        "checkpoints_passed": sum(len(t.passed) for t in tutorials),
        "adrs_documented": prog.adrs,
        "technology_adrs": prog.technology_adrs,
        "appendices_available": len(prog.appendices),
    }


def _doc_summary(status: DocumentStatus) -> dict[str, Any]:
    doc = status.document
    return {
        "id": doc.ident,
        "kind": doc.kind,
        "title": doc.title,
        "file": str(doc.path),
        "state": status.state,
        "experiments": len(status.experiments),
        **status.counts,
        "tutorials": status.tutorial_summary(),
    }


def summary(prog: Progress) -> dict[str, Any]:
    return {
        "metrics": metrics(prog),
        "phases": [_doc_summary(d) for d in prog.phases],
        "appendices": [_doc_summary(d) for d in prog.appendices],
        "warnings": list(prog.warnings),
    }


def metric_rows(prog: Progress) -> tuple[list[str], list[list[str]]]:
    m = metrics(prog)
    phases = m["phases_total"]
    rows = [
        ["Phases learner-completed", _percent(m["phases_learner_completed"], phases)],
        ["Phases validated", _percent(m["phases_validated"], phases)],
        ["Phases built", _percent(m["phases_built"], phases)],
        ["Experiments validated", _percent(m["experiments_validated"], m["experiments_total"])],
        ["Experiments stale", str(m["experiments_stale"])],
        ["Experiments built", _percent(m["experiments_built"], m["experiments_total"])],
        ["Tutorials completed", _percent(m["tutorials_completed"], m["tutorials_total"])],
        ["Tutorial checkpoints passed", _percent(m["checkpoints_passed"], m["checkpoints_total"])],
        ["ADRs documented", str(m["adrs_documented"])],
        ["Technology ADRs", str(m["technology_adrs"])],
        ["Appendices available", str(m["appendices_available"])],
    ]
    if not prog.learner_known:  # whose tutorials? a report of the repository has no learner
        rows = [r for r in rows if not r[0].startswith(("Phases learner", "Tutorial"))]
    if m["appendix_experiments_total"]:
        rows.insert(len(rows) - 3, [
            "Appendix experiments validated",
            _percent(m["appendix_experiments_validated"], m["appendix_experiments_total"]),
        ])
    return ["METRIC", "VALUE"], rows


def tutorial_text(status: DocumentStatus) -> str:
    """`-` without tutorials, else e.g. `1/2 done, 7/11 checkpoints`."""
    t = status.tutorial_summary()
    if not t["tutorials"]:
        return "-"
    return f"{t['completed']}/{t['tutorials']} done, {t['passed']}/{t['checkpoints']} checkpoints"


def phase_rows(prog: Progress) -> tuple[list[str], list[list[str]]]:
    cols = ["PHASE", "TITLE", "STATE", "VALIDATED", "STALE", "BUILT", "PLANNED", "MISSING", "TUTORIALS"]
    rows = []
    for status in prog.phases:
        c, total = status.counts, len(status.experiments)
        rows.append([
            status.document.ident, status.document.title, status.state,
            f"{c['validated']}/{total}", str(c["stale"]), str(c["built"]), str(c["planned"]),
            str(c["missing"]), tutorial_text(status),
        ])
    return cols, rows


def find(prog: Progress, phase: str) -> tuple[DocumentStatus, str | None]:
    """`3` -> phase 3; `3.1` -> phase 3 narrowed to section 3.1; `a` or `A` -> appendix A."""
    wanted = phase.strip()
    section: str | None = None
    if re.fullmatch(r"[1-9]\.\d+", wanted):
        wanted, section = wanted.split(".")[0], wanted
    pool = prog.phases if wanted.isdigit() else prog.appendices
    for status in pool:
        if status.document.ident == wanted.upper():
            if section and not any(e.item.section == section for e in status.experiments):
                raise UsageError(f"--phase {phase[:20]!r}: phase {wanted} has no section {section}")
            return status, section
    known = [d.document.ident for d in prog.phases + prog.appendices]
    raise UsageError(
        f"--phase {phase[:20]!r}: no such phase or appendix in {prog.roadmap.root} "
        f"(known: {', '.join(known) or 'none'})"
    )


def _chosen(status: DocumentStatus, section: str | None) -> list[ExperimentStatus]:
    return [e for e in status.experiments if section is None or e.item.section == section]


def detail(status: DocumentStatus, section: str | None = None) -> dict[str, Any]:
    data = _doc_summary(status)
    data["section"] = section
    data["checklist"] = [
        {
            "name": e.item.name,
            "section": e.item.section,
            "state": e.state,
            "marked_planned": e.item.marked_planned,
            "description": e.item.description,
            "where": e.item.where,
            "record": None if e.record is None else {
                "file": str(e.record.path),
                "date": e.record.date.isoformat(),
                "passed": e.record.passed,
                "checks": e.record.checks,
                "stale": e.record.stale,
                "counts": e.record.counts,
            },
            "tutorial": None if e.tutorial is None else {
                "checkpoints": list(e.tutorial.checkpoints),
                "passed": list(e.tutorial.passed),
                "done": e.tutorial.done,
            },
        }
        for e in _chosen(status, section)
    ]
    return data


def detail_title(status: DocumentStatus, section: str | None = None) -> str:
    doc = status.document
    where = f" (section {section})" if section else ""
    tutorials = tutorial_text(status)
    extra = "" if tutorials == "-" else f" · tutorials {tutorials}"
    return f"{doc.label}{where}: {doc.title} — {status.state}{extra}"


def checklist_rows(status: DocumentStatus, section: str | None = None) -> tuple[list[str], list[list[str]]]:
    cols = ["SECTION", "EXPERIMENT", "STATE", "LAST RECORD", "TUTORIAL", "WHAT IT SHOWS"]
    rows = []
    for e in _chosen(status, section):
        record = "-"
        if e.record is not None:
            record = f"{e.record.date.date().isoformat()} {e.record.verdict}"
        tutorial = "-" if e.tutorial is None else e.tutorial.text
        rows.append([e.item.section, e.item.name, e.state, record, tutorial, _gist(e.item.description)])
    return cols, rows


def _gist(description: str, limit: int = 60) -> str:
    """The first clause of a checklist description, short enough for a table row (JSON has
    the whole text)."""
    first = description.split(";")[0].strip()
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"
