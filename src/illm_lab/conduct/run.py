"""One live conduct: clusters → deploy → checks → [tutorial] → workflow → metrics → teardown.

`ConductRun` holds what every step shares (the ledger run, the inventory, the open clusters, the
port-forwards, the report) so each step is one method. Everything a run touches goes through one
ledger run (intent before, result after), so teardown — here, after a crash, or by `lab down` —
deletes exactly what the ledger and the inventory labels name. Teardown runs whatever happened
before it (failed checks, a cluster error, Ctrl-C) unless `--keep`, or `--keep-on-failure` and
the run did not pass; it is shielded from a first Ctrl-C.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from illm_lab.base import events as ev
from illm_lab.base.errors import LabError, UsageError
from illm_lab.base.steps import Steps
from illm_lab.catalog import Entry
from illm_lab.conduct.interrupts import Interrupts
from illm_lab.conduct.live import LiveRun, Session
from illm_lab.conduct.options import ConductOptions
from illm_lab.config.selection import Target
from illm_lab.engine import events as engine_events
from illm_lab.rendering.render import Rendering
from illm_lab.reports.conduct import ConductReport

if TYPE_CHECKING:
    from illm_lab.conduct.checking import CheckSession
    from illm_lab.conduct.forwards import Forwards
    from illm_lab.engine.inventory import Inventory
    from illm_lab.kube import Cluster
    from illm_lab.ledger import Ledger, Run



class ConductRun:
    def __init__(
        self,
        entry: Entry,
        rendering: Rendering,
        params: dict[str, Any],
        targets: Mapping[str, Target],
        options: ConductOptions,
        report: ConductReport,
        steps: Steps,
        guard: Interrupts,
        ledger: Ledger,
        session: Session | None = None,
    ) -> None:
        from illm_lab.conduct.checking import all_checks
        from illm_lab.conduct.forwards import Forwards
        from illm_lab.engine.inventory import Inventory

        self.entry, self.rendering, self.params = entry, rendering, params
        self.targets: dict[str, Target] = dict(targets)
        self.options, self.report, self.steps, self.guard = options, report, steps, guard
        self.emit: ev.Emit = steps.emit
        self.ledger, self.session = ledger, session
        self.inventory: Inventory = Inventory(entry.name, report.instance)
        self.checks = all_checks(entry.experiment, with_checkpoints=not options.interactive)
        self.roles = run_roles(rendering, options)
        self.clusters: dict[str, Cluster] = {}
        self.forwards: Forwards = Forwards(self.clusters, on_error=self._message)
        self.checking: CheckSession | None = None

    # -- the run ----------------------------------------------------------------------------
    def execute(self) -> None:
        """Every step in order, then teardown, then the validation record (`--record`)."""
        self._refuse_if_still_deployed()
        with self.ledger.start(self.entry.experiment, self.params, instance=self.inventory.instance,
                               command="conduct") as run:
            self.report.run_id = run.id
            try:
                self.bring_up_clusters(run)
                self.deploy(run)
                self.run_checks(run)
                if self.session is not None:
                    self.tutorial(run, self.session)
                if self.rendering.workflow is not None:
                    self.workflow(run)
                if self.entry.experiment.spec.metrics:
                    with self.steps("metrics"):
                        from illm_lab.conduct.workflow import query_metrics

                        self.report.metrics = query_metrics(self.entry, self.clusters)
            except KeyboardInterrupt:
                self.report.interrupted = True
            except LabError as exc:
                self.report.error, self.report.error_code = str(exc), exc.exit_code
                self.report.error_detail = exc.detail
            finally:
                self.forwards.close()  # no tunnel outlives the run, also on Ctrl-C
                self.teardown(run)
        if self.options.record and not self.report.interrupted:
            from illm_lab.conduct.records import write_record

            wf = self.rendering.workflow
            write_record(self.entry, self.report, self.params,
                         self.rendering.objects() + (wf.objects if wf else []))

    def _refuse_if_still_deployed(self) -> None:
        left = {r: o for r, o in self.ledger.outstanding(self.inventory.instance).items() if o.refs}
        if left and not self.options.reuse:
            count = sum(len(o.refs) for o in left.values())
            raise UsageError(
                f"{self.entry.name} (instance {self.inventory.instance}) is still deployed from an "
                f"earlier run ({count} objects): run `lab down {self.entry.name}` first, or pass --reuse"
            )

    # -- steps ------------------------------------------------------------------------------
    def bring_up_clusters(self, run: Run) -> None:
        from illm_lab.deploy.deployment import open_cluster

        with self.steps("clusters"):
            for role in self.roles:
                target = _provide(run, role, self.targets[role], self.entry.name, self.emit)
                self.targets[role] = target  # a provider's cluster: reached through its kubeconfig
                cluster = self.clusters[role] = open_cluster(run, role, target)
                self.report.clusters[role] = {
                    "context": cluster.context,
                    "server": cluster.server,
                    "version": cluster.server_version(),
                    "nodes": "; ".join(cluster.node_summaries()),
                    "provider": target.provider,
                    **({"name": str(target.name)} if target.creates else {}),
                }
                self.emit(ev.Event(ev.CLUSTER_READY, self.entry.name,
                                   {"role": role, **self.report.clusters[role]}))

    def deploy(self, run: Run) -> None:
        from illm_lab.deploy.deployment import deploy_run

        with self.steps("deploy") as step:
            result = deploy_run(
                run, self.ledger, self.rendering, self.inventory, targets=self.targets,
                clusters=self.clusters, force_conflicts=self.options.force_conflicts,
                on_event=self.forward,
            )
            self.report.objects = result.counts()
            step.message = ", ".join(f"{n} {a}" for a, n in sorted(self.report.objects.items()))

    def run_checks(self, run: Run) -> None:
        """The experiment's checks, at the same time (they are independent), then (non-interactive)
        each checkpoint's checks, one after another, after its solution."""
        from illm_lab.conduct.checking import CheckSession

        self.checking = CheckSession(
            run, self.inventory, self.clusters, {r: t.kubeconfig for r, t in self.targets.items()},
            self.guard.stop, on_event=self.forward, check_timeout=self.options.check_timeout,
            forwards=self.forwards,
        )
        with self.steps("checks") as step:
            from illm_lab.conduct.checking import run_concurrently

            independent = [c for c, cp in self.checks if cp is None]
            for result in run_concurrently(self.checking, independent):
                self._record(run, result)  # in declared order, each as soon as it is known
            solved: set[str] = set()
            for check, checkpoint in self.checks:
                if checkpoint is None:
                    continue  # done above
                if checkpoint not in solved:
                    solved.add(checkpoint)  # do what the learner would, then check it
                    self._solve(run, checkpoint)
                self._record(run, self.checking.run(check, checkpoint))
            failed = sum(1 for c in self.report.checks if not c.passed)
            step.status = "failed" if failed else "ok"
            step.message = f"{len(self.report.checks) - failed}/{len(self.report.checks)} passed"

    def tutorial(self, run: Run, session: Session) -> None:
        assert self.checking is not None
        with self.steps("tutorial") as step:
            outcome = session(LiveRun(
                self.entry, self.rendering, self.params, run, self.inventory, self.clusters,
                dict(self.targets), self.checking, self.forwards, self.emit, self.guard.stop,
                self.options.keep, self.options.check_timeout,
            ))
            self.report.checks += outcome.results
            for done in outcome.results:
                run.check_result(done.name, ok=done.passed, message=done.message)
            step.message = outcome.message

    def workflow(self, run: Run) -> None:
        from illm_lab.conduct.workflow import run_workflow

        with self.steps("workflow") as step:
            outcome = run_workflow(run, self.rendering, self.inventory, self.clusters, self.forward)
            self._record(run, outcome)
            step.status = "ok" if outcome.passed else "failed"
            step.message = outcome.message

    def teardown(self, run: Run) -> None:
        """Remove the objects, then the clusters lab created — unless kept; always close."""
        from illm_lab.deploy.teardown import remove_everything

        report = self.report
        report.kept = self.options.keep or (self.options.keep_on_failure and not report.passed)
        try:
            if not report.kept:
                self.guard.shielded = True
                with self.steps("teardown") as step:
                    removed = remove_everything(
                        run, self.ledger, self.inventory, targets=self.targets,
                        clusters=self.clusters,
                        deadline=time.monotonic() + self.options.teardown_timeout,
                        on_event=self.forward,
                    )
                    step.message = f"{removed.deleted} deleted{removed.clusters_text()}"
        except LabError as exc:
            if not report.error:
                report.error, report.error_code = f"teardown: {exc}", exc.exit_code
        finally:
            self.guard.shielded = False
            for cluster in self.clusters.values():
                cluster.close()
            state = "interrupted" if report.interrupted else ("succeeded" if report.passed else "failed")
            run.finish(state, error=report.error)

    # -- helpers ----------------------------------------------------------------------------
    def _record(self, run: Run, result: Any) -> None:
        self.report.checks.append(result)
        run.check_result(result.name, ok=result.passed, message=result.message)
        self.emit(ev.Event(ev.CHECK_FINISHED, self.entry.name, result.as_dict()))

    def _solve(self, run: Run, checkpoint: str) -> None:
        """Apply a checkpoint's solution (non-interactive runs); a failure becomes a failed check."""
        from illm_lab.tutorial.solutions import apply_solution

        failed = apply_solution(run, self.rendering, self.inventory, self.clusters, checkpoint,
                                self.forward)
        if failed is not None:
            self._record(run, failed)

    def _message(self, message: str) -> None:
        self.emit(ev.Event(ev.MESSAGE, self.entry.name, {"message": message}))

    def forward(self, event: engine_events.EngineEvent) -> None:
        """Engine events become stream events (object.applied, object.deleted, message)."""
        name = self.entry.name
        ref = getattr(event, "ref", None)
        data: dict[str, Any] = {"ref": ref.as_dict()} if ref is not None else {}
        match event:
            case engine_events.ObjectApplied(action=action):
                self.emit(ev.Event(ev.OBJECT_APPLIED, name, {**data, "action": action}))
            case engine_events.ObjectDeleted(action=action):
                self.emit(ev.Event(ev.OBJECT_DELETED, name, {**data, "action": action}))
            case engine_events.Note(message=message):
                self._message(message)
            case engine_events.WaitStarted() | engine_events.WaitDone() | engine_events.PhaseStarted():
                # the stream names the engine event (`engine`) and carries its fields
                detail = {k: v for k, v in vars(event).items() if k != "ref"}
                self.emit(ev.Event(ev.MESSAGE, name,
                                   {**data, "engine": type(event).__name__, **detail}))


def run_roles(rendering: Rendering, options: ConductOptions) -> list[str]:
    """The cluster roles a conduct reaches: where components, checks and the workflow run."""
    from illm_lab.conduct.checking import all_checks
    from illm_lab.deploy.deployment import roles_of

    checks = all_checks(rendering.experiment, with_checkpoints=not options.interactive)
    return sorted(
        set(roles_of(rendering))
        | {c.cluster for c, _ in checks}
        | ({rendering.workflow.cluster} if rendering.workflow else set())
    )


def _provide(run: Run, role: str, target: Target, experiment: str, emit: ev.Emit) -> Target:
    """The role's cluster: created (or reused) through its provider when the target asks for
    one, recorded in the ledger before the create starts (`clusters.provision`)."""
    if not target.creates:
        return target
    from illm_lab.clusters import provision

    return provision(
        run, role, target,
        note=lambda m: emit(ev.Event(ev.MESSAGE, experiment, {"message": m, "notice": True})),
    )
