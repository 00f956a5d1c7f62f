"""`lab tutorial check [<checkpoint>]`: verify a checkpoint from a second terminal.

It runs beside the session (which holds the instance's ledger lock), so it opens no ledger run:
it connects to the clusters the session recorded, runs the checkpoint's checks (port-forwards of
its own, closed before it returns), writes the verdict into the shared progress and nudges the
session, which then shows the verdict and moves on. `job` checks, which create objects, must be
run from the session itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from illm_lab import catalog
from illm_lab.base import paths
from illm_lab.base.errors import UsageError
from illm_lab.checks.result import CheckResult
from illm_lab.conduct.interrupts import Interrupts
from illm_lab.tutorial import progress as pr
from illm_lab.tutorial.session import INTERACTIVE_CHECK_TIMEOUT

if TYPE_CHECKING:
    from illm_lab.kube import Cluster
    from illm_lab.model.experiment import Checkpoint


@dataclass
class CheckOutcome:
    experiment: str
    instance: str
    checkpoint: str
    title: str
    passed: bool
    results: list[CheckResult] = field(default_factory=list)
    next: str | None = None  # the checkpoint the learner is on now
    session_notified: bool = False
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment, "instance": self.instance, "checkpoint": self.checkpoint,
            "title": self.title, "passed": self.passed, "next": self.next,
            "sessionNotified": self.session_notified, "checks": [r.as_dict() for r in self.results],
        }


def pick_progress(
    store: pr.ProgressStore, experiment: str | None, instance: str | None
) -> pr.Progress:
    """The progress named by the flags, else the one tutorial in progress."""
    from illm_lab.engine.inventory import instance_id

    if experiment:
        chosen = instance_id(experiment, instance) if instance else experiment
        found = store.load(chosen)
        if found is None:
            raise UsageError(
                f"no tutorial progress of {chosen}: start it with `lab tutorial start {experiment}`"
            )
        return found
    every = store.all()
    live = [p for p in every if p.session_alive] or every
    if len(live) == 1:
        return live[0]
    if not live:
        raise UsageError("no tutorial in progress: start one with `lab tutorial start <experiment>`")
    names = ", ".join(p.instance for p in live)
    raise UsageError(f"several tutorials in progress ({names}): name one with --experiment")


def check(
    checkpoint: str | None,
    *,
    experiment: str | None = None,
    instance: str | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    check_timeout: float | None = None,
    experiments_dir: Path | None = None,
    allow_commands: bool = False,
) -> CheckOutcome:
    from illm_lab.conduct.checking import CheckSession
    from illm_lab.conduct.forwards import Forwards
    from illm_lab.config.selection import Target
    from illm_lab.config.trust import refuse_unless_allowed
    from illm_lab.deploy.deployment import connect
    from illm_lab.engine.inventory import Inventory
    from illm_lab.model.checks import effective_timeout

    store = pr.ProgressStore()
    progress = pick_progress(store, experiment, instance)
    entry = catalog.find(paths.experiments_dir(experiments_dir), progress.experiment)
    cp, order = _checkpoint(entry, progress, checkpoint)
    refuse_unless_allowed(entry.experiment, entry.folder, allowed=allow_commands)
    roles = sorted({str(c.cluster) for c in cp.checks})
    clusters: dict[str, Cluster] = {}
    outcome = CheckOutcome(entry.name, progress.instance, cp.name, cp.title, False)
    forwards = Forwards(clusters)
    limit = check_timeout or INTERACTIVE_CHECK_TIMEOUT
    try:
        with Interrupts() as guard:
            kubeconfigs: dict[str, Path | None] = {}
            for role in roles:
                saved = progress.targets.get(role) or {}
                path = kubeconfig or (Path(str(saved["kubeconfig"])) if saved.get("kubeconfig") else None)
                target = Target(role, path, context or saved.get("context"), "tutorial progress")
                clusters[role] = connect(target)
                kubeconfigs[role] = path
            session = CheckSession(
                None, Inventory(entry.name, progress.instance), clusters, kubeconfigs,
                guard.stop, forwards=forwards,
            )
            try:
                for c in cp.checks:
                    outcome.results.append(session.run(c, cp.name, timeout=min(effective_timeout(c), limit)))
            except KeyboardInterrupt:
                outcome.interrupted = True
    finally:
        forwards.close()
        for cluster in clusters.values():
            cluster.close()
    if not outcome.interrupted:
        _record(store, outcome, order)
    return outcome


def _checkpoint(
    entry: catalog.Entry, progress: pr.Progress, name: str | None
) -> tuple[Checkpoint, list[str]]:
    """The checkpoint to verify (the one named, else the first not passed yet) and the order of
    all of them."""
    tutorial = entry.experiment.spec.tutorial
    if tutorial is None or not tutorial.checkpoints:
        raise UsageError(f"{entry.name} has no tutorial checkpoints")
    order = [cp.name for cp in tutorial.checkpoints]
    name = name or progress.first_open(order)
    if name is None:
        raise UsageError(f"every checkpoint of {entry.name} is done (`lab tutorial reset {entry.name}` "
                         "starts over)")
    cp = next((c for c in tutorial.checkpoints if c.name == name), None)
    if cp is None:
        raise UsageError(f"{entry.name} has no checkpoint {name!r} (it has: {', '.join(order)})")
    return cp, order


def _record(store: pr.ProgressStore, outcome: CheckOutcome, order: list[str]) -> None:
    """The verdict into the saved progress, and a nudge to the running session, if any."""
    outcome.passed = all(r.passed for r in outcome.results)
    failed = [r for r in outcome.results if not r.passed]
    message = "; ".join(r.message for r in failed) if failed else f"{len(outcome.results)} checks passed"
    with store.update(outcome.instance, outcome.experiment) as saved_progress:
        saved_progress.record(
            outcome.checkpoint, pr.PASSED if outcome.passed else pr.FAILED, by="check",
            message=message, diagnostics=[line for r in failed for line in r.diagnostics],
        )
        outcome.next = saved_progress.first_open(order)
        latest = saved_progress
    outcome.session_notified = pr.notify(latest)
