"""`lab roadmap`: the learning roadmap's progress, computed instead of hand-kept.

A status column written by hand goes stale the day after it is written, so the roadmap documents
hold no status at all. They name their experiments in a checklist under `## Experiments`, one
line each (a list item with a checkbox, then the name in backticks, then what it shows; the
mark `(planned)` right after the name for one not built yet), and the state of each experiment
is read from the repository:

- *validated* — `experiments/<name>/validation.yaml` (written by `lab conduct --record`) exists
  and its latest record passed every check;
- *built* — `experiments/<name>/experiment.yaml` exists, with no passing record;
- *planned* — marked `(planned)` and not built yet;
- *missing* — named without the mark, but there is no such experiment (a broken promise).

A phase is complete when every experiment it names is validated, and in progress when at least
one of them exists. Files that cannot be read or parsed are bad input (exit 2) naming the file
and line; inconsistencies that do not stop the count are returned as warnings.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from illm_lab.authoring import adr
from illm_lab.base.errors import InputError, UsageError
from illm_lab.base.yamlio import load_all, read_text

README = "README.md"
MANIFEST = "experiment.yaml"
RECORD_FILE = "validation.yaml"  # = model.record.RECORD_FILE, not imported: that loads pydantic
CHECKLIST_SECTION = "experiments"

Kind = Literal["phase", "appendix"]
State = Literal["validated", "built", "planned", "missing"]
STATES: tuple[State, ...] = ("validated", "built", "planned", "missing")
DocState = Literal["complete", "in progress", "not started"]

_PHASE_FILE = re.compile(r"^phase-(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")
_APPENDIX_FILE = re.compile(r"^appendix-([a-s])-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # a DNS label, like experiment names
_ITEM = re.compile(r"^[-*]\s+\[([ xX])\]\s+`([^`]*)`\s*(\(planned\))?(.*)$")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s")
_SECTION_ID = re.compile(r"^###\s+(\d+\.\d+)\b")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TITLE_PREFIX = re.compile(r"^(?:phase\s+\d+|appendix\s+[a-s])\s*[:.\u2013\u2014-]\s*", re.IGNORECASE)
_LINK = re.compile(r"\]\(([^)\s]+?)(?:#[^)\s]*)?\)")


# -- the documents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One checklist line: an experiment a phase or appendix names."""

    name: str
    marked_planned: bool
    section: str
    description: str
    where: str


@dataclass(frozen=True)
class Document:
    """A phase (`phase-03-observability.md`) or an appendix (`appendix-a-mlops.md`)."""

    ident: str
    kind: Kind
    title: str
    path: Path
    items: tuple[Item, ...]

    @property
    def label(self) -> str:
        return f"Phase {self.ident}" if self.kind == "phase" else f"Appendix {self.ident}"


@dataclass(frozen=True)
class Roadmap:
    root: Path
    phases: tuple[Document, ...]
    appendices: tuple[Document, ...]
    warnings: tuple[str, ...] = ()

    @property
    def documents(self) -> tuple[Document, ...]:
        return self.phases + self.appendices


def roadmap_dir(override: Path | str | None = None) -> Path:
    """`--roadmap-dir` > `./roadmap`."""
    return Path(override) if override else Path("roadmap")


def load(root: Path) -> Roadmap:
    """Parse `root/README.md` and every phase and appendix document under `root`."""
    if not root.is_dir():
        raise UsageError(
            f"roadmap directory {str(root)!r} not found "
            "(run lab from the repository root, or pass --roadmap-dir)"
        )
    readme = root / README
    linked = _readme_links(readme)
    phases: dict[str, Document] = {}
    appendices: dict[str, Document] = {}
    for path in sorted(root.iterdir()):
        if not path.is_file() or path.suffix != ".md":
            continue
        if phase := _PHASE_FILE.match(path.name):
            number = int(phase.group(1))
            if not 1 <= number <= 9:
                raise InputError("phases are numbered 01 to 09", where=str(path))
            _add(phases, parse_document(path, str(number), "phase"))
        elif appendix := _APPENDIX_FILE.match(path.name):
            _add(appendices, parse_document(path, appendix.group(1).upper(), "appendix"))
        elif path.name.startswith(("phase-", "appendix-")):
            raise InputError(
                "expected phase-NN-title.md (NN = 01..09) or appendix-x-title.md (x = a..s)",
                where=str(path),
            )
    docs = [*phases.values(), *appendices.values()]
    warnings = [f"{d.path}: not linked from {readme}" for d in docs if d.path.name not in linked]
    seen: dict[str, Item] = {}
    for doc in docs:
        for item in doc.items:
            if item.name in seen:
                raise InputError(
                    f"experiment {item.name!r} is already named at {seen[item.name].where}",
                    where=item.where,
                )
            seen[item.name] = item
    return Roadmap(
        root=root,
        phases=tuple(phases[k] for k in sorted(phases, key=int)),
        appendices=tuple(appendices[k] for k in sorted(appendices)),
        warnings=tuple(warnings),
    )


def _add(into: dict[str, Document], doc: Document) -> None:
    if doc.ident in into:
        raise InputError(f"{doc.label} is also defined in {into[doc.ident].path}", where=str(doc.path))
    into[doc.ident] = doc


def _readme_links(readme: Path) -> set[str]:
    """File names the README links to inside the roadmap; a link to a missing file is an error."""
    text = read_text(readme, what="roadmap overview")
    names: set[str] = set()
    in_fence = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
        if in_fence:
            continue
        for target in _LINK.findall(line):
            if "://" in target or target.startswith(("/", "mailto:")) or not target.endswith(".md"):
                continue
            if not (readme.parent / target).is_file():
                raise InputError(f"links to {target}, which does not exist", where=f"{readme}:{lineno}")
            if "/" not in target:
                names.add(target)
    return names


def parse_document(path: Path, ident: str, kind: Kind) -> Document:
    """Title (the first `# ` heading, without a "Phase N:" prefix) and the `## Experiments`
    checklist."""
    text = read_text(path, what=f"roadmap {kind}")
    title: str | None = None
    items: list[Item] = []
    has_checklist = False
    in_checklist = in_fence = False
    section = ident
    for lineno, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if line.startswith("# ") and title is None:
            # "# Phase 3: Observability" -> "Observability": the id is shown beside it anyway.
            title = _TITLE_PREFIX.sub("", line[2:].strip()) or line[2:].strip()
        elif line.startswith("## "):
            in_checklist = line[3:].strip().lower() == CHECKLIST_SECTION
            has_checklist = has_checklist or in_checklist
            section = ident
        elif in_checklist and line.startswith("### "):
            found = _SECTION_ID.match(line)
            section = found.group(1) if found and kind == "phase" else ident
            if found and kind == "phase" and found.group(1).split(".")[0] != ident:
                raise InputError(
                    f"section {found.group(1)} does not belong to phase {ident}",
                    where=f"{path}:{lineno}",
                )
        elif in_checklist and _LIST_ITEM.match(line):
            items.append(_item(line, section, f"{path}:{lineno}"))
    if not title:
        raise InputError("no '# Title' heading", where=str(path))
    if not has_checklist:
        raise InputError(
            "no '## Experiments' section (list the experiments, or the planned ones, there)",
            where=str(path),
        )
    return Document(ident=ident, kind=kind, title=title, path=path, items=tuple(items))


def _item(line: str, section: str, where: str) -> Item:
    found = _ITEM.match(line)
    if not found:
        raise InputError(
            "expected a checklist line: - [ ] `experiment-name` — what it shows "
            "(add (planned) after the name if it is not built yet)",
            where=where,
        )
    name = found.group(2).strip()
    if not _NAME.match(name) or len(name) > 63:
        raise InputError(
            f"{name[:80]!r} is not an experiment name (a DNS label: a-z, 0-9, '-')", where=where
        )
    description = found.group(4).strip().lstrip("-:\u2013\u2014").strip()
    return Item(
        name=name,
        marked_planned=found.group(3) is not None,
        section=section,
        description=description,
        where=where,
    )


# -- validation records -------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordSummary:
    path: Path
    date: datetime
    passed: bool


def latest_record(folder: Path) -> RecordSummary | None:
    """The latest record in `folder/validation.yaml` (one document, or a stream of them)."""
    path = folder / RECORD_FILE
    if not path.exists():
        return None
    # Imported here: pydantic and the models cost more than the rest of `lab roadmap` together.
    from pydantic import ValidationError

    from illm_lab.catalog import validation_problems
    from illm_lab.model.record import ValidationRecord

    docs = load_all(read_text(path, what="validation record"), source=str(path))
    if not docs:
        raise InputError("validation record is empty", where=str(path))
    latest: ValidationRecord | None = None
    for doc in docs:
        if not isinstance(doc.data, dict):
            raise InputError("a validation record must be a mapping", where=f"{path}:{doc.line_of(()) or 1}")
        try:
            record = ValidationRecord.model_validate(doc.data)
        except ValidationError as exc:
            first = validation_problems(exc, doc, path)[0]
            raise InputError(first.message, where=first.where) from None
        if record.experiment != folder.name:
            raise InputError(
                f"experiment: {record.experiment!r} is a record of another experiment "
                f"(expected {folder.name!r})",
                where=f"{path}:{doc.line_of(('experiment',)) or 1}",
            )
        if latest is None or _utc(record.date) >= _utc(latest.date):
            latest = record
    assert latest is not None
    passed = latest.passed and all(check.passed for check in latest.checks)
    return RecordSummary(path=path, date=latest.date, passed=passed)


def experiment_folders(root: Path) -> dict[str, Path]:
    """Experiment folders by name, found as the catalog finds them (a folder holding an
    `experiment.yaml`, not starting with `_` or `.`) but without validating any manifest."""
    if not root.is_dir():
        raise UsageError(
            f"experiments directory {str(root)!r} not found "
            "(run lab from the repository root, or pass --experiments-dir)"
        )
    return {
        p.name: p for p in sorted(root.iterdir())
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / MANIFEST).is_file()
    }


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# -- progress -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentStatus:
    item: Item
    state: State
    record: RecordSummary | None = None


@dataclass(frozen=True)
class DocumentStatus:
    document: Document
    experiments: tuple[ExperimentStatus, ...]

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(e.state for e in self.experiments)
        return {state: found[state] for state in STATES}

    @property
    def state(self) -> DocState:
        counts = self.counts
        if self.experiments and counts["validated"] == len(self.experiments):
            return "complete"
        if counts["validated"] or counts["built"]:
            return "in progress"
        return "not started"


@dataclass(frozen=True)
class Progress:
    roadmap: Roadmap
    phases: tuple[DocumentStatus, ...]
    appendices: tuple[DocumentStatus, ...]
    adrs: int
    warnings: tuple[str, ...] = field(default=())


def progress(roadmap_root: Path, experiments_root: Path, adrs_root: Path) -> Progress:
    """Read the roadmap, the catalog's folders, their validation records and the ADRs."""
    road = load(roadmap_root)
    built = experiment_folders(experiments_root)
    adrs = len(adr.discover(adrs_root))
    warnings = list(road.warnings)
    named = {item.name for doc in road.documents for item in doc.items}
    for name, folder in built.items():
        if name not in named:
            warnings.append(f"{folder}: not named in any checklist under {roadmap_root}")

    def status(doc: Document) -> DocumentStatus:
        out = []
        for item in doc.items:
            folder = built.get(item.name)
            if folder is None:
                out.append(ExperimentStatus(item, "planned" if item.marked_planned else "missing"))
                continue
            if item.marked_planned:
                warnings.append(f"{item.where}: {item.name} is marked (planned) but {folder} exists")
            record = latest_record(folder)
            state: State = "validated" if record is not None and record.passed else "built"
            out.append(ExperimentStatus(item, state, record))
        return DocumentStatus(doc, tuple(out))

    phases = tuple(status(d) for d in road.phases)
    appendices = tuple(status(d) for d in road.appendices)
    return Progress(road, phases, appendices, adrs, tuple(warnings))


# -- plain data for the UI and JSON -------------------------------------------------------------


def _percent(part: int, whole: int) -> str:
    return f"{part} / {whole} ({round(100 * part / whole) if whole else 0}%)"


def metrics(prog: Progress) -> dict[str, int]:
    core = [e for d in prog.phases for e in d.experiments]
    extra = [e for d in prog.appendices for e in d.experiments]
    return {
        "phases_total": len(prog.phases),
        "phases_complete": sum(d.state == "complete" for d in prog.phases),
        "phases_in_progress": sum(d.state == "in progress" for d in prog.phases),
        "experiments_total": len(core),
        "experiments_validated": sum(e.state == "validated" for e in core),
        "experiments_built": sum(e.state in ("validated", "built") for e in core),
        "experiments_planned": sum(e.state == "planned" for e in core),
        "experiments_missing": sum(e.state == "missing" for e in core),
        "appendix_experiments_total": len(extra),
        "appendix_experiments_validated": sum(e.state == "validated" for e in extra),
        "adrs_documented": prog.adrs,
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
    rows = [
        ["Phases complete", _percent(m["phases_complete"], m["phases_total"])],
        ["Phases in progress", _percent(m["phases_in_progress"], m["phases_total"])],
        ["Experiments validated", _percent(m["experiments_validated"], m["experiments_total"])],
        ["Experiments built", _percent(m["experiments_built"], m["experiments_total"])],
        ["ADRs documented", str(m["adrs_documented"])],
        ["Appendices available", str(m["appendices_available"])],
    ]
    if m["appendix_experiments_total"]:
        rows.insert(4, [
            "Appendix experiments validated",
            _percent(m["appendix_experiments_validated"], m["appendix_experiments_total"]),
        ])
    return ["METRIC", "VALUE"], rows


def phase_rows(prog: Progress) -> tuple[list[str], list[list[str]]]:
    cols = ["PHASE", "TITLE", "STATE", "VALIDATED", "BUILT", "PLANNED", "MISSING"]
    rows = []
    for status in prog.phases:
        c, total = status.counts, len(status.experiments)
        rows.append([
            status.document.ident, status.document.title, status.state,
            f"{c['validated']}/{total}", str(c["built"]), str(c["planned"]), str(c["missing"]),
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
            },
        }
        for e in _chosen(status, section)
    ]
    return data


def detail_title(status: DocumentStatus, section: str | None = None) -> str:
    doc = status.document
    where = f" (section {section})" if section else ""
    return f"{doc.label}{where}: {doc.title} — {status.state}"


def checklist_rows(status: DocumentStatus, section: str | None = None) -> tuple[list[str], list[list[str]]]:
    cols = ["SECTION", "EXPERIMENT", "STATE", "LAST RECORD", "WHAT IT SHOWS"]
    rows = []
    for e in _chosen(status, section):
        record = "-"
        if e.record is not None:
            record = f"{e.record.date.date().isoformat()} {'passed' if e.record.passed else 'failed'}"
        rows.append([e.item.section, e.item.name, e.state, record, _gist(e.item.description)])
    return cols, rows


def _gist(description: str, limit: int = 60) -> str:
    """The first clause of a checklist description, short enough for a table row (JSON has
    the whole text)."""
    first = description.split(";")[0].strip()
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"
