"""The experiment catalog: finding, loading and validating `experiments/<name>/experiment.yaml`.

The catalog is the one place that turns a manifest file into an `Experiment`, so the one place
that maps pydantic's errors to `file:line: field.path: message`. Folders whose name starts with
`_` or `.` (the `_template`) are not experiments.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from illm_lab.base.errors import InputError, ManifestError, UsageError
from illm_lab.base.yamlio import Document, PathKey, format_path, load_file
from illm_lab.catalog import binding
from illm_lab.model.checks import CHECK_TYPES
from illm_lab.model.experiment import Experiment

MANIFEST = "experiment.yaml"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Entry:
    """A loaded, valid experiment and where it lives."""

    experiment: Experiment
    folder: Path
    document: Document

    @property
    def name(self) -> str:
        return self.experiment.metadata.name

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST


def discover(root: Path) -> list[Path]:
    """Experiment folders under `root`, sorted by name."""
    if not root.is_dir():
        raise UsageError(
            f"experiments directory {str(root)!r} not found "
            "(run lab from the repository root, or pass --experiments-dir)"
        )
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / MANIFEST).is_file()
    )


def load(folder: Path) -> Entry:
    """Load one experiment; raise ManifestError naming the first problem (and how many more)."""
    entry, problems = load_checked(folder)
    if entry is None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems; run lab lint)" if len(problems) > 1 else ""
        raise ManifestError(first.message + more, where=first.where)
    return entry


def load_checked(folder: Path) -> tuple[Entry | None, list[Problem]]:
    """Load one experiment, returning every problem found instead of raising."""
    path = folder / MANIFEST
    try:
        doc = load_file(path, what="experiment manifest")
    except InputError as exc:
        return None, [Problem(exc.where or str(path), exc.message)]
    if not isinstance(doc.data, dict):
        return None, [Problem(f"{path}:1", "an experiment manifest must be a mapping")]
    try:
        data = binding.bind(doc.data, binding.default_params(doc.data), _locator(doc, path))
    except InputError as exc:
        return None, [Problem(exc.where or str(path), exc.message)]
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        return None, validation_problems(exc, doc, path)
    if experiment.metadata.name != folder.name:
        line = doc.line_of(("metadata", "name")) or 1
        return None, [
            Problem(
                f"{path}:{line}",
                f"metadata.name: {experiment.metadata.name!r} must equal the folder name "
                f"{folder.name!r}",
            )
        ]
    return Entry(experiment=experiment, folder=folder, document=doc), []


def _locator(doc: Document, path: Path) -> Callable[[PathKey], str]:
    return lambda key: f"{path}:{doc.line_of(key) or 1}"


def bind(entry: Entry, params: dict[str, Any]) -> Entry:
    """The entry with its checks rendered against the run's params (see binding.py)."""
    if not binding.needs_binding(entry.document.data):
        return entry
    data = binding.bind(entry.document.data, params, _locator(entry.document, entry.manifest))
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        first = validation_problems(exc, entry.document, entry.manifest)[0]
        raise ManifestError(f"{first.message} (with the given params)", where=first.where) from None
    return Entry(experiment=experiment, folder=entry.folder, document=entry.document)


def validation_problems(exc: ValidationError, doc: Document, path: Path) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"])
        message = _message(err)
        if err["type"] == "check_type":
            loc, message = _unknown_check_key(loc, err.get("input"), message)
        line = doc.line_of(loc)
        where = f"{path}:{line}" if line else str(path)
        field = format_path(loc)
        problems.append(Problem(where, f"{field}: {message}" if field else message))
    return problems


def _unknown_check_key(loc: PathKey, check: object, message: str) -> tuple[PathKey, str]:
    """A check with no known type but one key nobody knows (`redy:`) is a typo of that key:
    name it, at its own line, with the nearest check type or field."""
    from illm_lab.model.checks import CheckBase

    if not isinstance(check, dict):
        return loc, message
    known = set(CHECK_TYPES) | set(CheckBase.model_fields)
    unknown = [k for k in check if isinstance(k, str) and k not in known]
    if len(unknown) != 1:
        return loc, message
    close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
    hint = f" — did you mean {close[0]}?" if close else f" ({message})"
    return (*loc, unknown[0]), f"unknown key{hint}"


def _clean_loc(loc: tuple[str | int, ...]) -> PathKey:
    """Drop the discriminator tag pydantic inserts after a check's index
    (`checks[0].ready.timeout` -> `checks[0].timeout`)."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        after_index = i > 0 and isinstance(loc[i - 1], int)
        if after_index and isinstance(part, str) and part in CHECK_TYPES:
            continue
        out.append(part)
    return tuple(out)


def _message(err: object) -> str:
    assert isinstance(err, dict)
    kind, msg = err["type"], str(err["msg"])
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg[:300]


def find(root: Path, name: str) -> Entry:
    """Load the experiment called `name`, or say which names exist."""
    folders = {p.name: p for p in discover(root)}
    if name not in folders:
        close = difflib.get_close_matches(name, folders, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run lab list to see them"
        raise UsageError(f"unknown experiment {name[:80]!r} in {root}{hint}")
    return load(folders[name])


def load_all(root: Path) -> tuple[list[Entry], list[Problem]]:
    """Every experiment of the catalog; broken manifests become problems, not exceptions."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    for folder in discover(root):
        entry, found = load_checked(folder)
        if entry is not None:
            entries.append(entry)
        problems.extend(found)
    return entries, problems


def select(
    entries: list[Entry], *, phase: str | None = None, tags: list[str] | None = None
) -> list[Entry]:
    out = entries
    if phase:
        out = [e for e in out if e.experiment.matches_phase(phase)]
    if tags:
        out = [e for e in out if set(tags) <= set(e.experiment.metadata.tags)]
    return out


@dataclass(frozen=True)
class Prepared:
    """An experiment ready for a run: its params resolved from the defaults, `--values` files
    and `--set` overrides, and bound into its checks (the manifest validated again with them)."""

    entry: Entry
    params: dict[str, Any]


def prepare(entry: Entry, values: list[Path] | None = None, sets: list[str] | None = None) -> Prepared:
    """The one path from a loaded experiment to what a run uses: resolve params, then bind.
    Every command that renders or runs an experiment goes through here."""
    from illm_lab.catalog import params

    resolved = params.resolve(entry.experiment, values, sets)
    return Prepared(bind(entry, resolved), resolved)
