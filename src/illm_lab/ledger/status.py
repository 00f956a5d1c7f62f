"""`lab status` as data: one row per run in the ledger, and one per run file it cannot read.

The ledger folder is listed and each run file parsed once; every instance's outstanding objects
are replayed from those runs, not read again per instance.
"""

from __future__ import annotations

from typing import Any

from illm_lab.ledger.records import RunRecord, Unreadable
from illm_lab.ledger.store import Ledger, replay_outstanding

UNREADABLE = "unreadable"


def rows(ledger: Ledger, experiment: str | None = None) -> list[dict[str, Any]]:
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


def _row(record: RunRecord, deployed: int) -> dict[str, Any]:
    checks = record.data.get("checks") or []
    return {
        "run": record.id,
        "experiment": record.experiment,
        "instance": record.instance,
        "command": record.data.get("command"),
        "state": record.state,
        "started": record.started,
        "finished": record.data.get("finished"),
        "clusters": {role: c.get("context") for role, c in record.clusters.items()},
        "deployed": deployed,
        "checks": {"passed": sum(1 for c in checks if c.get("ok")), "total": len(checks)},
    }


def _unreadable_row(problem: Unreadable) -> dict[str, Any]:
    return {
        "run": problem.id,
        "experiment": None,
        "instance": problem.instance,
        "command": None,
        "state": UNREADABLE,
        "started": None,
        "finished": None,
        "clusters": {},
        "deployed": None,
        "checks": {"passed": 0, "total": 0},
        "file": str(problem.path),
        "error": problem.problem,
    }


def _may_belong(problem: Unreadable, experiment: str | None) -> bool:
    """Whether an unreadable file may be a run of `experiment` (its instance is the experiment's
    name, or that name and a suffix; a file lab did not name may be anyone's)."""
    instance = problem.instance
    if experiment is None or instance is None:
        return True
    return instance == experiment or instance.startswith(f"{experiment}-")
