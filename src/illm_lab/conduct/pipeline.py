"""The conduct lifecycle: render → lint → plan, then (unless `--dry-run`) the live run of
`conduct/run.py`: clusters → deploy → checks → [tutorial] → workflow → metrics → teardown →
record, all as events.

The tutorial step is a foreground session (`conduct/live.py`, `illm_lab.tutorial`), run only on a
terminal; without one, tutorial checkpoints run with the checks, each after its solution.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from illm_lab.base import events as ev
from illm_lab.base.errors import InputError, LabError, StorageError, UsageError
from illm_lab.base.steps import Steps
from illm_lab.catalog import Entry
from illm_lab.catalog.params import masked
from illm_lab.conduct.interrupts import Interrupts
from illm_lab.conduct.live import Session
from illm_lab.conduct.options import ConductOptions
from illm_lab.conduct.run import ConductRun
from illm_lab.config.selection import Target
from illm_lab.rendering.render import Rendering
from illm_lab.reports import store as kept_reports
from illm_lab.reports.conduct import ConductReport

if TYPE_CHECKING:
    from illm_lab.ledger import Ledger



def conduct(
    entry: Entry,
    params: dict[str, Any],
    targets: Mapping[str, Target],
    options: ConductOptions,
    emit: ev.Emit,
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
    steps = Steps(emit, name, report.steps,
                  stop=lambda: guard.stop.is_set() and not guard.shielded)
    emit(ev.Event(ev.RUN_STARTED, name, {"instance": instance, "dryRun": options.dry_run}))
    try:
        rendering = _prepare(entry, params, targets, report, steps)
        if options.dry_run:
            _commands(entry, options, report, steps)  # the real run refuses them first
            _reach(rendering, targets, instance, options, report, steps)
        else:
            from illm_lab.ledger import Ledger

            ConductRun(entry, rendering, params, targets, options, report, steps, guard,
                       ledger or Ledger(), session).execute()
    except KeyboardInterrupt:
        report.interrupted = True
    except LabError as exc:
        report.error, report.error_code, report.error_detail = str(exc), exc.exit_code, exc.detail
    report.interrupted = report.interrupted or guard.interrupted
    report.duration = time.monotonic() - started
    _keep(report, emit)
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


def _keep(report: ConductReport, emit: ev.Emit) -> None:
    """Keep the finished report for `lab report` (`<state dir>/reports/<run id>.json`, 0600)."""
    try:
        kept_reports.save(report.as_dict())
    except (OSError, StorageError) as exc:
        why = exc.message if isinstance(exc, StorageError) else exc.strerror or type(exc).__name__
        note = f"the report was not kept for `lab report`: {why}"
        emit(ev.Event(ev.MESSAGE, report.experiment, {"message": note, "notice": True}))


def _prepare(
    entry: Entry,
    params: dict[str, Any],
    targets: Mapping[str, Target],
    report: ConductReport,
    steps: Steps,
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


def _reach(
    rendering: Rendering,
    targets: Mapping[str, Target],
    instance: str,
    options: ConductOptions,
    report: ConductReport,
    steps: Steps,
) -> None:
    """The dry run's clusters step: every role's provider resolved and every existing cluster
    asked for its version, as the real run's clusters step would — so a dry run fails where
    and how the real run would (unknown context exit 2, unreachable exit 3, missing tool exit
    3), creating nothing and writing nothing to the ledger."""
    from illm_lab.clusters import preflight
    from illm_lab.conduct.run import run_roles
    from illm_lab.deploy.deployment import connect

    with steps("clusters") as step:
        said = []
        planned = report.plan.get("clusters", {})
        for role in run_roles(rendering, options):
            target, creates = preflight(role, targets[role], instance)
            if target is not targets[role] and role in planned:  # the default provider, resolved
                planned[role].update(provider=target.provider, chosenBy=target.source)
            if creates is not None:
                report.clusters[role] = {"provider": target.provider, "plan": creates}
                said.append(f"{role}: {creates}")
                continue
            cluster = connect(target)
            try:
                report.clusters[role] = {"context": cluster.context, "server": cluster.server,
                                         "version": cluster.server_version(),
                                         "provider": target.provider}
            finally:
                cluster.close()
            if role in planned:
                planned[role]["context"] = cluster.context
            said.append(f"{role}: {cluster.context} {report.clusters[role]['version']} reachable")
        step.message = "; ".join(said)


def _commands(entry: Entry, options: ConductOptions, report: ConductReport, steps: Steps) -> None:
    """The dry run's view of the local programs the run would start: listed in the plan with
    what lets them run, and refused (exit 2) as the real run would refuse them."""
    from illm_lab.config import trust

    commands = entry.experiment.commands()
    if not commands:
        return
    allowed_by = trust.reason_allowed(entry.folder, allowed=options.allow_commands)
    report.plan["commands"] = {
        "allowedBy": allowed_by,
        "run": [{"check": name, "argv": argv} for name, argv, _path in commands],
    }
    with steps("commands") as step:
        why = trust.refusal(entry.experiment, entry.folder, allowed=options.allow_commands)
        if why is not None:
            raise UsageError(why)
        plural = "s" if len(commands) > 1 else ""
        step.message = f"{len(commands)} local program{plural} allowed by {allowed_by}"


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
