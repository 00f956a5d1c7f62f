"""Each experiment's state and each document's, from the documents, the records and the learner's
tutorial progress."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from illm_lab.authoring import adr
from illm_lab.authoring.roadmap.documents import (
    STATES,
    TECHNOLOGY_ADRS,
    DocState,
    Document,
    Item,
    Roadmap,
    State,
    load,
)
from illm_lab.authoring.roadmap.records import (
    RecordSummary,
    TutorialProgress,
    experiment_folders,
    latest_record,
    tutorial_checkpoints,
)
from illm_lab.base.errors import InputError


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


