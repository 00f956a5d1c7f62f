"""The roadmap documents: phases and appendices, their checklists of experiments, parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from illm_lab.base.errors import InputError, UsageError
from illm_lab.base.yamlio import read_text

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


