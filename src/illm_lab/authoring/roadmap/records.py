"""What the repository says of each experiment: its folder, its latest validation record, its
tutorial checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from illm_lab.authoring.roadmap.documents import MANIFEST, RECORD_FILE
from illm_lab.base.errors import InputError, UsageError
from illm_lab.base.yamlio import load_all, read_text


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


