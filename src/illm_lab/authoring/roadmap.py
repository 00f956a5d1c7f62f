"""`lab roadmap`: the learning roadmap's progress, computed instead of hand-kept.

A status column written by hand goes stale the day after it is written, so the roadmap documents
hold no status at all. They name their experiments in a checklist under `## Experiments`, one
line each (a list item with a checkbox, then the name in backticks, then what it shows; the
mark `(planned)` right after the name for one not built yet), and the state of each experiment
is read from the repository:

- *validated* — `experiments/<name>/validation.yaml` (written by `lab conduct --record`) exists,
  its latest record passed at least one check and failed none, and it was written for the
  experiment as it is now: its `experimentHash` equals the hash of the folder's files;
- *stale* — that record passed, but the experiment changed since (another hash, or a record
  from before records carried one): it proves an older version, so it does not count;
- *built* — `experiments/<name>/experiment.yaml` exists, with no record that counts (none, a
  failed one, or one without a single check);
- *planned* — marked `(planned)` and not built yet;
- *missing* — named without the mark, but there is no such experiment (a broken promise).

A phase (or appendix) is *not started* while none of its experiments exists, *built* once one
does, *validated* when every experiment it names is validated, and *learner-completed* when the
learner's own tutorial progress (`lab tutorial`, passed in by the caller) says every checkpoint of
every tutorial among its experiments passed. Files that cannot be read or parsed are bad input
(exit 2) naming the file and line; inconsistencies that do not stop the count are returned as
warnings.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping
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
State = Literal["validated", "stale", "built", "planned", "missing"]
STATES: tuple[State, ...] = ("validated", "stale", "built", "planned", "missing")
DocState = Literal["learner-completed", "validated", "built", "not started"]
DOC_STATES: tuple[DocState, ...] = ("learner-completed", "validated", "built", "not started")
TECHNOLOGY_ADRS = "adrs"  # the learner's technology-choice ADRs: roadmap/adrs/

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
    passed: bool  # the run passed and none of its checks failed
    checks: int = 0  # how many checks the record holds
    stale: bool = False  # written for another version of the experiment's files
    experiment_hash: str | None = None

    @property
    def counts(self) -> bool:
        """Whether the record makes its experiment validated: it passed, it checked something,
        and it is a record of the experiment as it is now."""
        return self.passed and self.checks > 0 and not self.stale

    @property
    def verdict(self) -> str:
        """`passed`, `failed`, `passed, stale` or `passed, no checks`."""
        if not self.passed:
            return "failed"
        if self.checks == 0:
            return "passed, no checks"
        return "passed, stale" if self.stale else "passed"


def latest_record(folder: Path) -> RecordSummary | None:
    """The latest record in `folder/validation.yaml` (one document, or a stream of them), and
    whether it is stale: its `experimentHash` is not the hash of the folder's files now."""
    path = folder / RECORD_FILE
    if not path.exists():
        return None
    # Imported here: pydantic and the models cost more than the rest of `lab roadmap` together.
    from pydantic import ValidationError

    from illm_lab.catalog import validation_problems
    from illm_lab.catalog.fingerprint import experiment_hash
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
    return RecordSummary(
        path=path, date=latest.date, passed=passed, checks=len(latest.checks),
        stale=latest.experiment_hash != experiment_hash(folder),
        experiment_hash=latest.experiment_hash,
    )


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


# -- tutorials ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TutorialProgress:
    """The checkpoints of one tutorial and those of them the learner passed."""

    checkpoints: tuple[str, ...]
    passed: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return bool(self.checkpoints) and len(self.passed) == len(self.checkpoints)

    @property
    def text(self) -> str:
        return "done" if self.done else f"{len(self.passed)}/{len(self.checkpoints)}"


def tutorial_checkpoints(folder: Path) -> tuple[str, ...]:
    """The names of `spec.tutorial.checkpoints` in the folder's manifest, read as plain YAML
    (the full model costs more than the rest of `lab roadmap`); empty when there are none."""
    path = folder / MANIFEST
    docs = load_all(read_text(path, what="experiment manifest"), source=str(path))
    data = docs[0].data if docs else None
    spec = data.get("spec") if isinstance(data, dict) else None
    tutorial = spec.get("tutorial") if isinstance(spec, dict) else None
    steps = tutorial.get("checkpoints") if isinstance(tutorial, dict) else None
    if not isinstance(steps, list):
        return ()
    return tuple(str(s["name"]) for s in steps if isinstance(s, dict) and s.get("name"))


# -- progress -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentStatus:
    item: Item
    state: State
    record: RecordSummary | None = None
    tutorial: TutorialProgress | None = None  # None: not a tutorial with checkpoints


@dataclass(frozen=True)
class DocumentStatus:
    document: Document
    experiments: tuple[ExperimentStatus, ...]

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(e.state for e in self.experiments)
        return {state: found[state] for state in STATES}

    @property
    def tutorials(self) -> tuple[TutorialProgress, ...]:
        return tuple(e.tutorial for e in self.experiments if e.tutorial is not None)

    @property
    def validated(self) -> bool:
        """Every experiment the document names is validated."""
        return bool(self.experiments) and all(e.state == "validated" for e in self.experiments)

    @property
    def built(self) -> bool:
        """At least one of its experiments exists."""
        return any(e.state in ("validated", "stale", "built") for e in self.experiments)

    @property
    def learner_completed(self) -> bool:
        """The learner passed every checkpoint of every tutorial among its experiments."""
        tutorials = self.tutorials
        return bool(tutorials) and all(t.done for t in tutorials)

    @property
    def state(self) -> DocState:
        if self.learner_completed:
            return "learner-completed"
        if self.validated:
            return "validated"
        return "built" if self.built else "not started"

    def tutorial_summary(self) -> dict[str, int]:
        tutorials = self.tutorials
        return {
            "tutorials": len(tutorials),
            "completed": sum(t.done for t in tutorials),
            "checkpoints": sum(len(t.checkpoints) for t in tutorials),
            "passed": sum(len(t.passed) for t in tutorials),
        }


@dataclass(frozen=True)
class Progress:
    roadmap: Roadmap
    phases: tuple[DocumentStatus, ...]
    appendices: tuple[DocumentStatus, ...]
    adrs: int
    warnings: tuple[str, ...] = field(default=())
    technology_adrs: int = 0
    learner_known: bool = False  # tutorial progress was given (not so for the static site)


def progress(
    roadmap_root: Path,
    experiments_root: Path,
    adrs_root: Path,
    learner: Mapping[str, Collection[str]] | None = None,
) -> Progress:
    """Read the roadmap, the catalog's folders, their validation records and tutorial
    checkpoints, and the ADRs. `learner` maps an experiment to the checkpoints the learner
    passed (from the tutorial progress store); without it no tutorial counts as done."""
    road = load(roadmap_root)
    built = experiment_folders(experiments_root)
    adrs = len(adr.discover(adrs_root))
    technology = roadmap_root / TECHNOLOGY_ADRS
    technology_adrs = len(adr.discover(technology)) if technology.is_dir() else 0
    passed_by = learner or {}
    warnings = list(road.warnings)
    named = {item.name for doc in road.documents for item in doc.items}
    for name, folder in built.items():
        if name not in named:
            warnings.append(f"{folder}: not named in any checklist under {roadmap_root}")

    def tutorial_of(name: str, folder: Path) -> TutorialProgress | None:
        try:
            checkpoints = tutorial_checkpoints(folder)
        except InputError as exc:
            warnings.append(f"{exc.where or folder}: tutorial checkpoints not read: {exc.message}")
            return None
        if not checkpoints:
            return None
        done = set(passed_by.get(name, ()))
        return TutorialProgress(checkpoints, tuple(c for c in checkpoints if c in done))

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
            state: State = "built"
            if record is not None and record.counts:
                state = "validated"
            elif record is not None and record.passed and record.checks and record.stale:
                state = "stale"
            out.append(ExperimentStatus(item, state, record, tutorial_of(item.name, folder)))
        return DocumentStatus(doc, tuple(out))

    phases = tuple(status(d) for d in road.phases)
    appendices = tuple(status(d) for d in road.appendices)
    return Progress(road, phases, appendices, adrs, tuple(warnings), technology_adrs, learner is not None)


# -- plain data for the UI and JSON -------------------------------------------------------------


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
