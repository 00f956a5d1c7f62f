"""`lab status` as data: one row per run in the ledger, and one per run file it cannot read.

The ledger folder is listed and each run file parsed once; every instance's outstanding objects
are replayed from those runs, not read again per instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from illm_lab.ledger.records import RunRecord, Unreadable
from illm_lab.ledger.store import Ledger, replay_outstanding

UNREADABLE = "unreadable"


@dataclass(frozen=True)
class StatusRow:
    """One run of the ledger as `lab status` shows it; `as_dict` is its JSON shape."""

    run: str
    experiment: str | None
    instance: str | None
    command: Any  # the command line the run recorded (a list), or None
    state: str
    started: str | None = None
    finished: str | None = None
    clusters: dict[str, Any] = field(default_factory=dict)  # role -> context
    deployed: int | None = None  # objects the instance has deployed now; None: unknown
    checks_passed: int = 0
    checks_total: int = 0
    file: str | None = None  # an unreadable run file: where, and why
    error: str | None = None

    @property
    def unreadable(self) -> bool:
        return self.state == UNREADABLE

    def as_dict(self) -> dict[str, Any]:
        out = {
            "run": self.run, "experiment": self.experiment, "instance": self.instance,
            "command": self.command, "state": self.state, "started": self.started,
            "finished": self.finished, "clusters": self.clusters, "deployed": self.deployed,
            "checks": {"passed": self.checks_passed, "total": self.checks_total},
        }
        return {**out, "file": self.file, "error": self.error} if self.unreadable else out


def rows(ledger: Ledger, experiment: str | None = None) -> list[StatusRow]:
    """Runs newest first (of `experiment`, when given), then the files that cannot be read."""
    everything = ledger.runs()
    by_instance: dict[str, list[RunRecord]] = {}
    for record in everything:
        by_instance.setdefault(record.instance, []).append(record)
    deployed = {
        instance: sum(len(o.refs) for o in replay_outstanding(records).values())
        for instance, records in by_instance.items()
    }
    out = [_row(r, deployed[r.instance]) for r in everything
           if experiment is None or r.experiment == experiment]
    out += [_unreadable_row(u) for u in ledger.unreadable() if _may_belong(u, experiment)]
    return out


def _row(record: RunRecord, deployed: int) -> StatusRow:
    checks = record.data.get("checks") or []
    return StatusRow(
        run=record.id,
        experiment=record.experiment,
        instance=record.instance,
        command=record.data.get("command"),
        state=record.state,
        started=record.started,
        finished=record.data.get("finished"),
        clusters={role: c.get("context") for role, c in record.clusters.items()},
        deployed=deployed,
        checks_passed=sum(1 for c in checks if c.get("ok")),
        checks_total=len(checks),
    )


def _unreadable_row(problem: Unreadable) -> StatusRow:
    return StatusRow(run=problem.id, experiment=None, instance=problem.instance, command=None,
                     state=UNREADABLE, file=str(problem.path), error=problem.problem)


def _may_belong(problem: Unreadable, experiment: str | None) -> bool:
    """Whether an unreadable file may be a run of `experiment` (its instance is the experiment's
    name, or that name and a suffix; a file lab did not name may be anyone's)."""
    instance = problem.instance
    if experiment is None or instance is None:
        return True
    return instance == experiment or instance.startswith(f"{experiment}-")
