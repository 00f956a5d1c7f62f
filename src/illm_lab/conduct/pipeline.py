"""The conduct lifecycle: render → lint → plan → clusters → deploy → checks → [tutorial] →
workflow → metrics → record → teardown, as events.

The tutorial step is a foreground session (`conduct/live.py`, `illm_lab.tutorial`), run only on a
terminal; without one, tutorial checkpoints run with the checks, each after its solution.

Everything a run touches goes through one ledger run (intent before, result after), so teardown
— here, after a crash, or by `lab down` — deletes exactly what the ledger and the inventory
labels name. Teardown runs whatever happened before it (failed checks, a cluster error, Ctrl-C)
unless `--keep`, or `--keep-on-failure` and the run did not pass.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from illm_lab.base import events as ev
from illm_lab.base.errors import InputError, LabError, UsageError
from illm_lab.catalog import Entry
from illm_lab.catalog.params import masked
from illm_lab.conduct.interrupts import Interrupts
from illm_lab.conduct.live import LiveRun, Session
from illm_lab.conduct.options import ConductOptions
from illm_lab.conduct.report import ConductReport, StepRecord
from illm_lab.config.selection import Target
from illm_lab.rendering.render import Rendering

if TYPE_CHECKING:
    from illm_lab.kube import Cluster
    from illm_lab.ledger import Ledger, Run

Emit = Callable[[ev.Event], None]


class _Steps:
    """Runs named steps: emits started/finished, records status and duration in the report."""

    def __init__(self, report: ConductReport, emit: Emit, guard: Interrupts) -> None:
        self.report = report
        self.emit = emit
        self.guard = guard

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[StepRecord]:
        if self.guard.stop.is_set() and not self.guard.shielded:
            raise KeyboardInterrupt  # a signal seen by another thread: start no new step
        record = StepRecord(name)
        self.report.steps.append(record)
        self.emit(ev.Event(ev.STEP_STARTED, self.report.experiment, {"step": name}))
        started = time.monotonic()
        try:
            yield record
            if record.status == "running":
                record.status = "ok"
        except KeyboardInterrupt:
            record.status = "interrupted"
            raise
        except BaseException as exc:
            record.status = "failed"
            record.message = str(exc)[:300]
            raise
        finally:
            record.seconds = time.monotonic() - started
            self.emit(
                ev.Event(
                    ev.STEP_FINISHED,
                    self.report.experiment,
                    {
                        "step": name,
                        "status": record.status,
                        "seconds": round(record.seconds, 3),
                        "message": record.message,
                    },
                )
            )


def conduct(
    entry: Entry,
    params: dict[str, Any],
    targets: Mapping[str, Target],
    options: ConductOptions,
    emit: Emit,
    *,
    ledger: Ledger | None = None,
    interrupts: Interrupts | None = None,
    session: Session | None = None,
) -> ConductReport:
    """Run one experiment end to end; never raises LabError (it lands in the report).

    `session` (a tutorial on a terminal) runs in the foreground after the checks, before the
    teardown; Ctrl-C inside it tears down like anywhere else."""
    from illm_lab.engine.inventory import instance_id

    started = time.monotonic()
    name = entry.name
    instance = options.instance or instance_id(name)
    report = ConductReport(
        experiment=name, instance=instance, params=masked(entry.experiment, params), dry_run=options.dry_run
    )
    guard = interrupts or Interrupts()
    steps = _Steps(report, emit, guard)
    emit(ev.Event(ev.RUN_STARTED, name, {"instance": instance, "dryRun": options.dry_run}))
    try:
        rendering = _prepare(entry, params, targets, report, steps)
        if not options.dry_run:
            _live(entry, rendering, params, targets, options, report, steps, emit, guard, ledger, session)
    except KeyboardInterrupt:
        report.interrupted = True
    except LabError as exc:
        report.error, report.error_code, report.error_detail = str(exc), exc.exit_code, exc.detail
    report.interrupted = report.interrupted or guard.interrupted
    report.duration = time.monotonic() - started
    emit(
        ev.Event(
            ev.RUN_FINISHED,
            name,
            {
                "verdict": report.verdict,
                "exitCode": report.exit_code,
                "run": report.run_id,
                "seconds": round(report.duration, 3),
            },
        )
    )
    return report


def _prepare(
    entry: Entry,
    params: dict[str, Any],
    targets: Mapping[str, Target],
    report: ConductReport,
    steps: _Steps,
) -> Rendering:
    # Everything the steps below import is imported before the first step starts: a Ctrl-C that
    # lands inside an import (here `plan_of`'s, measured) made Python exit via SIGINT (-2)
    # instead of 130 after an otherwise clean interrupted run.
    from illm_lab.authoring import lint
    from illm_lab.conduct import checking  # noqa: F401 - used by plan_of
    from illm_lab.deploy import deployment as deploy  # noqa: F401 - deploy: used by plan_of
    from illm_lab.rendering import render

    with steps("render"):
        rendering = render.render(entry, params)
    with steps("lint") as step:
        result = lint.lint_rendering(entry, rendering)  # what is deployed, with --set/--values
        errors = [f for f in result.findings if f.severity == "error"]
        if errors:
            more = f" (and {len(errors) - 1} more; run lab lint)" if len(errors) > 1 else ""
            raise InputError(f"{errors[0].message}{more}", where=errors[0].where)
        step.message = f"{result.objects} objects, {len(result.findings)} notes"
    with steps("plan"):
        report.plan = plan_of(rendering, targets)
    return rendering


def plan_of(rendering: Rendering, targets: Mapping[str, Target]) -> dict[str, Any]:
    """What a conduct would do, per cluster role: where, which components, which checks."""
    from illm_lab.conduct.checking import all_checks
    from illm_lab.deploy.deployment import roles_of

    exp = rendering.experiment
    roles = sorted(set(roles_of(rendering)) | {c.cluster for c, _ in all_checks(exp, with_checkpoints=True)})
    clusters = {}
    for role in roles:
        target = targets.get(role)
        clusters[role] = {
            "context": (target.context if target else None)
            or ("(the cluster lab provides)" if target and target.creates else "(current context)"),
            "chosenBy": target.source if target else "none",
            "provider": target.provider if target else "existing",
            **({"cluster": target.name} if target and target.creates else {}),
            "namespaces": [o["metadata"]["name"] for o in rendering.namespaces.get(role, [])],
            "components": [
                {"name": c.name, "source": c.source, "objects": len(c.objects), "dependsOn": c.depends_on}
                for c in rendering.components
                if c.cluster == role
            ],
        }
    return {
        "clusters": clusters,
        "checks": [
            {"name": c.name, "cluster": c.cluster, "checkpoint": cp}
            for c, cp in all_checks(exp, with_checkpoints=True)
        ],
        "workflow": rendering.workflow.name if rendering.workflow else None,
        "metrics": [m.name for m in exp.spec.metrics],
    }


def _live(
    entry: Entry,
    rendering: Rendering,
    params: dict[str, Any],
    targets: Mapping[str, Target],
    options: ConductOptions,
    report: ConductReport,
    steps: _Steps,
    emit: Emit,
    guard: Interrupts,
    ledger: Ledger | None,
    session: Session | None = None,
) -> None:
    from illm_lab.conduct.checking import CheckSession, all_checks
    from illm_lab.conduct.forwards import Forwards
    from illm_lab.deploy.deployment import deploy_run, open_cluster, roles_of
    from illm_lab.engine.inventory import Inventory
    from illm_lab.ledger import Ledger

    ledger = ledger or Ledger()
    inventory = Inventory(entry.name, report.instance)
    left = {role: o for role, o in ledger.outstanding(inventory.instance).items() if o.refs}
    if left and not options.reuse:
        count = sum(len(o.refs) for o in left.values())
        raise UsageError(
            f"{entry.name} (instance {inventory.instance}) is still deployed from an earlier run "
            f"({count} objects): run `lab down {entry.name}` first, or pass --reuse"
        )
    forward = _forwarder(entry.name, emit)
    checks = all_checks(entry.experiment, with_checkpoints=not options.interactive)
    roles = sorted(
        set(roles_of(rendering))
        | {c.cluster for c, _ in checks}
        | ({rendering.workflow.cluster} if rendering.workflow else set())
    )
    clusters: dict[str, Cluster] = {}
    forwards = Forwards(clusters, on_error=lambda m: emit(ev.Event(ev.MESSAGE, entry.name, {"message": m})))
    with ledger.start(entry.experiment, params, instance=inventory.instance, command="conduct") as run:
        report.run_id = run.id
        try:
            with steps("clusters"):
                provided = dict(targets)  # a provider's cluster is reached through its kubeconfig
                targets = provided
                for role in roles:
                    provided[role] = _provide(run, role, provided[role], entry.name, emit)
                    clusters[role] = open_cluster(run, role, provided[role])
                    report.clusters[role] = {
                        "context": clusters[role].context,
                        "server": clusters[role].server,
                        "version": clusters[role].server_version(),
                        "nodes": "; ".join(clusters[role].node_summaries()),
                        "provider": provided[role].provider,
                        **({"name": str(provided[role].name)} if provided[role].creates else {}),
                    }
                    emit(ev.Event(ev.CLUSTER_READY, entry.name, {"role": role, **report.clusters[role]}))
            with steps("deploy") as step:
                result = deploy_run(
                    run,
                    ledger,
                    rendering,
                    inventory,
                    targets=targets,
                    clusters=clusters,
                    force_conflicts=options.force_conflicts,
                    on_event=forward,
                )
                report.objects = result.counts()
                step.message = ", ".join(f"{n} {a}" for a, n in sorted(report.objects.items()))
            checking = CheckSession(
                run,
                inventory,
                clusters,
                {r: t.kubeconfig for r, t in targets.items()},
                guard.stop,
                on_event=forward,
                check_timeout=options.check_timeout,
                forwards=forwards,
            )
            with steps("checks") as step:
                solved: set[str] = set()
                for check, checkpoint in checks:
                    if checkpoint is not None and checkpoint not in solved:  # non-interactive:
                        solved.add(checkpoint)  # do what the learner would, then check it
                        _solve(run, rendering, inventory, clusters, checkpoint, forward, report, emit)
                    result_ = checking.run(check, checkpoint)
                    report.checks.append(result_)
                    run.check_result(check.name, ok=result_.passed, message=result_.message)
                    emit(ev.Event(ev.CHECK_FINISHED, entry.name, result_.as_dict()))
                failed = sum(1 for c in report.checks if not c.passed)
                step.status = "failed" if failed else "ok"
                step.message = f"{len(report.checks) - failed}/{len(report.checks)} passed"
            if session is not None:
                with steps("tutorial") as step:
                    outcome = session(LiveRun(
                        entry, rendering, params, run, inventory, clusters, dict(targets), checking,
                        forwards, emit, guard.stop, options.keep, options.check_timeout,
                    ))
                    report.checks += outcome.results
                    for done in outcome.results:
                        run.check_result(done.name, ok=done.passed, message=done.message)
                    step.message = outcome.message
            if rendering.workflow is not None:
                with steps("workflow") as step:
                    outcome = _workflow(run, rendering, inventory, clusters, forward)
                    report.checks.append(outcome)
                    run.check_result(outcome.name, ok=outcome.passed, message=outcome.message)
                    emit(ev.Event(ev.CHECK_FINISHED, entry.name, outcome.as_dict()))
                    step.status = "ok" if outcome.passed else "failed"
                    step.message = outcome.message
            if entry.experiment.spec.metrics:
                with steps("metrics"):
                    report.metrics = _metrics(entry, clusters)
        except KeyboardInterrupt:
            report.interrupted = True
        except LabError as exc:
            report.error, report.error_code, report.error_detail = str(exc), exc.exit_code, exc.detail
        finally:
            forwards.close()  # no tunnel outlives the run, also on Ctrl-C
            keep = options.keep or (options.keep_on_failure and not report.passed)
            report.kept = keep
            try:
                if not keep:
                    guard.shielded = True
                    with steps("teardown") as step:
                        from illm_lab.deploy.deployment import remove_everything

                        removed = remove_everything(  # objects, then the clusters lab created
                            run,
                            ledger,
                            inventory,
                            targets=targets,
                            clusters=clusters,
                            deadline=time.monotonic() + options.teardown_timeout,
                            on_event=forward,
                        )
                        step.message = (
                            f"{sum(1 for r in removed.removed if r['action'] == 'deleted')} deleted"
                            + "".join(f", cluster {c['name']} {c['action']}" for c in removed.clusters)
                        )
            except LabError as exc:
                if not report.error:
                    report.error, report.error_code = f"teardown: {exc}", exc.exit_code
            finally:
                guard.shielded = False
                for cluster in clusters.values():
                    cluster.close()
                state = "interrupted" if report.interrupted else ("succeeded" if report.passed else "failed")
                run.finish(state, error=report.error)
    if options.record and not report.interrupted:
        from illm_lab.conduct.records import write_record

        deployed = rendering.objects() + (rendering.workflow.objects if rendering.workflow else [])
        write_record(entry, report, params, deployed)


def _provide(run: Run, role: str, target: Target, experiment: str, emit: Emit) -> Target:
    """The role's cluster: created (or reused) through its provider when the target asks for
    one, recorded in the ledger before the create starts (`clusters.provision`)."""
    if not target.creates:
        return target
    from illm_lab.clusters import provision

    return provision(
        run, role, target,
        note=lambda m: emit(ev.Event(ev.MESSAGE, experiment, {"message": m, "notice": True})),
    )


def _solve(
    run: Run,
    rendering: Rendering,
    inventory: Any,
    clusters: dict[str, Cluster],
    checkpoint: str,
    forward: Callable[[Any], None],
    report: ConductReport,
    emit: Emit,
) -> None:
    """Apply a checkpoint's solution (non-interactive runs); a failure becomes a failed check."""
    from illm_lab.tutorial.solutions import apply_solution

    failed = apply_solution(run, rendering, inventory, clusters, checkpoint, forward)
    if failed is not None:
        report.checks.append(failed)
        run.check_result(failed.name, ok=False, message=failed.message)
        emit(ev.Event(ev.CHECK_FINISHED, report.experiment, failed.as_dict()))


def _forwarder(experiment: str, emit: Emit) -> Callable[[Any], None]:
    """Engine events become stream events (object.applied, object.deleted, message)."""

    def forward(event: Any) -> None:
        kind = type(event).__name__
        ref = getattr(event, "ref", None)
        data: dict[str, Any] = {"ref": ref.as_dict()} if ref is not None else {}
        if kind == "ObjectApplied":
            emit(ev.Event(ev.OBJECT_APPLIED, experiment, {**data, "action": event.action}))
        elif kind == "ObjectDeleted":
            emit(ev.Event(ev.OBJECT_DELETED, experiment, {**data, "action": event.action}))
        elif kind == "Note":
            emit(ev.Event(ev.MESSAGE, experiment, {"message": event.message}))
        elif kind in ("WaitStarted", "WaitDone", "PhaseStarted"):
            detail = {k: v for k, v in vars(event).items() if k != "ref"}
            emit(ev.Event(ev.MESSAGE, experiment, {**data, "engine": kind, **detail}))

    return forward


def _workflow(
    run: Run,
    rendering: Rendering,
    inventory: Any,
    clusters: dict[str, Cluster],
    forward: Callable[[Any], None],
) -> Any:
    """Apply the load workflow, wait for its Job, and report it like a check."""
    from illm_lab.base.errors import ClusterError
    from illm_lab.checks.result import CheckResult
    from illm_lab.engine import readiness
    from illm_lab.engine.apply import Applier, plan
    from illm_lab.engine.wait import wait_for

    spec = rendering.experiment.spec.workflow
    assert spec is not None and rendering.workflow is not None
    cluster = clusters[spec.cluster]
    desired = plan([(rendering.workflow.name, rendering.workflow.objects)], inventory)
    Applier(
        cluster, inventory, recorder=run.recorder(spec.cluster), role=spec.cluster, on_event=forward
    ).apply(desired)
    job = next((d.ref for d in desired if d.ref.kind == "Job" and d.ref.name == spec.wait_for), None)
    started = time.monotonic()
    name = f"workflow {spec.wait_for} completes"
    if job is None:
        return CheckResult(
            name,
            "workflow",
            spec.cluster,
            False,
            f"no Job named {spec.wait_for} among the workflow's objects",
            0.0,
            1,
        )
    try:
        wait_for(
            cluster,
            job,
            readiness.job_complete,
            deadline=started + spec.timeout,
            what=f"workflow Job {job.namespace}/{job.name} to complete",
        )
        ok, message = True, f"Job {job.namespace}/{job.name} completed"
    except ClusterError as exc:
        ok, message = False, str(exc)
    tail: list[str] = []
    with contextlib.suppress(LabError):
        pods = cluster.list("v1", "Pod", job.namespace, f"job-name={job.name}")
        if pods:
            tail = cluster.pod_logs(
                str(job.namespace), str(pods[0]["metadata"]["name"]), None, 20
            ).splitlines()
    return CheckResult(
        name,
        "workflow",
        spec.cluster,
        ok,
        message,
        time.monotonic() - started,
        1,
        diagnostics=[f"  | {line}" for line in tail],
    )


def _metrics(entry: Entry, clusters: dict[str, Cluster]) -> list[dict[str, Any]]:
    from illm_lab.conduct.checking import query_metric

    cluster = clusters.get("target") or next(iter(clusters.values()))
    return [query_metric(cluster, metric) for metric in entry.experiment.spec.metrics]
