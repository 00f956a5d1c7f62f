"""The core of `lab conduct | down | status | validate`: choosing experiments and clusters,
running conducts (one after another or in parallel), and reading the ledger.

Sequential conducts run in the main thread, where Ctrl-C arrives as KeyboardInterrupt at once.
With `--parallel N` they run in worker threads; a signal then sets the shared stop event, which
each pipeline honours between steps and between check attempts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from illm_lab import catalog
from illm_lab.base import events, paths
from illm_lab.base.errors import UsageError, worst_exit_code
from illm_lab.conduct.interrupts import Interrupts
from illm_lab.conduct.options import ConductOptions
from illm_lab.reports.conduct import ConductReport

if TYPE_CHECKING:
    from illm_lab.deploy.teardown import DownResult
    from illm_lab.ledger.status import StatusRow


@dataclass
class ConductRequest:
    names: list[str] = field(default_factory=list)
    phase: str | None = None
    tags: list[str] = field(default_factory=list)
    all: bool = False
    sets: list[str] = field(default_factory=list)
    values: list[Path] = field(default_factory=list)
    kubeconfig: Path | None = None
    context: str | None = None
    role_contexts: dict[str, str | None] = field(default_factory=dict)
    keep: bool = False
    keep_on_failure: bool = False
    dry_run: bool = False
    reuse: bool = False
    record: bool = False
    force_conflicts: bool = False
    instance: str | None = None
    interactive: bool = False
    parallel: int = 1
    check_timeout: float | None = None
    teardown_timeout: float = 300.0
    events_file: Path | None = None
    experiments_dir: Path | None = None
    # A tutorial session runs (interactive, one experiment at a time) when a learner is given.
    learner: Any = None
    resume: bool = False
    allow_commands: bool = False  # command checks may run local programs (config/trust.py)


def select_entries(request: ConductRequest) -> list[catalog.Entry]:
    root = paths.experiments_dir(request.experiments_dir)
    chosen_by_filter = request.all or request.phase or request.tags
    if request.names and chosen_by_filter:
        raise UsageError("name experiments or use --phase/--tag/--all, not both")
    if request.names:
        return [catalog.find(root, name) for name in dict.fromkeys(request.names)]
    if not chosen_by_filter:
        raise UsageError("which experiment? name one, or use --phase N, --tag T or --all")
    entries, problems = catalog.load_all(root)
    if problems:
        raise UsageError(f"the catalog has broken manifests (run lab lint): {problems[0]}")
    chosen = catalog.select(entries, phase=request.phase, tags=request.tags or None)
    if not chosen:
        raise UsageError("no experiment matches the selection")
    return chosen


def _prepare(request: ConductRequest) -> tuple[list[catalog.Entry], list[tuple[Any, Any, Any]]]:
    """The chosen experiments, and each with its params and cluster targets; refused (before
    anything is deployed) when one has command checks that are not allowed."""
    from illm_lab.config import selection as targets
    from illm_lab.config.trust import refuse_unless_allowed

    entries = select_entries(request)
    if request.instance and len(entries) > 1:
        raise UsageError("--instance names one deployed copy: give a single experiment with it")
    if not request.dry_run:  # a dry run plans them, and fails on them after its plan
        for entry in entries:
            refuse_unless_allowed(entry.experiment, entry.folder, allowed=request.allow_commands)
    prepared = []
    for entry in entries:
        ready = catalog.prepare(entry, request.values, request.sets)
        chosen = targets.select(
            ready.entry.experiment,
            list(ready.entry.experiment.spec.clusters),
            kubeconfig=request.kubeconfig,
            context=request.context,
            role_contexts=request.role_contexts,
            instance=_instance(ready.entry.name, request.instance),
        )
        prepared.append((ready.entry, ready.params, chosen))
    return entries, prepared


def conduct_many(request: ConductRequest, view: events.Emit) -> list[ConductReport]:
    from illm_lab.conduct.pipeline import conduct

    entries, prepared = _prepare(request)
    options = ConductOptions(
        keep=request.keep,
        keep_on_failure=request.keep_on_failure,
        dry_run=request.dry_run,
        reuse=request.reuse,
        record=request.record,
        force_conflicts=request.force_conflicts,
        allow_commands=request.allow_commands,
        instance=_instance(entries[0].name, request.instance),
        interactive=request.interactive,
        check_timeout=request.check_timeout,
        teardown_timeout=request.teardown_timeout,
    )
    sinks: list[events.Emit] = [view]
    writer = events.JsonLines(request.events_file) if request.events_file else None
    if writer is not None:
        sinks.append(writer)
    emit = events.Fanout(*sinks)
    try:
        with Interrupts() as guard:
            if request.parallel <= 1 or len(prepared) == 1:
                reports = []
                for entry, resolved, chosen in prepared:
                    session = _session(entry, request)
                    # Checkpoints are the learner's only when a session runs them; otherwise
                    # they run as checks after their solutions, or they would be dropped.
                    own = replace(options, interactive=session is not None)
                    reports.append(
                        conduct(entry, resolved, chosen, own, emit, interrupts=guard, session=session)
                    )
                    if guard.interrupted:
                        break
                return reports
            with ThreadPoolExecutor(max_workers=request.parallel, thread_name_prefix="conduct") as pool:
                # No learner session in parallel runs: checkpoints run as checks (with solutions).
                unattended = replace(options, interactive=False)
                futures = [
                    pool.submit(conduct, e, r, c, unattended, emit, interrupts=guard)
                    for e, r, c in prepared
                ]
                return [_wait(f, guard) for f in futures]
    finally:
        if writer is not None:
            writer.close()


def _session(entry: catalog.Entry, request: ConductRequest) -> Any:
    """The foreground tutorial session for `entry`, when there is a learner at a terminal."""
    tutorial = entry.experiment.spec.tutorial
    if not (request.interactive and request.learner is not None and tutorial):
        return None
    from illm_lab.tutorial.session import run_session

    return lambda live: run_session(
        live, request.learner, resume=request.resume, sets=request.sets,
        values=[str(v.resolve()) for v in request.values],
    )


def tutorial_request(request: ConductRequest) -> ConductRequest:
    """`lab tutorial start|resume <exp>`: one tutorial experiment. Resume continues from the
    saved progress over the kept deployment (re-applied if it was torn down), with the params
    and clusters the tutorial was started with unless flags say otherwise."""
    import dataclasses

    from illm_lab.engine.inventory import instance_id
    from illm_lab.tutorial.progress import ProgressStore

    if len(request.names) != 1:
        raise UsageError("name one tutorial experiment")
    entry = select_entries(request)[0]
    if entry.experiment.spec.tutorial is None:
        raise UsageError(f"{entry.name} is not a tutorial (it has no spec.tutorial); "
                         "`lab tutorial list` shows the tutorials")
    instance = _instance(entry.name, request.instance) or instance_id(entry.name)
    if not request.resume:
        from illm_lab.ledger import Ledger

        if not request.reuse and request.interactive and any(
            o.refs for o in Ledger().outstanding(instance).values()
        ):
            raise UsageError(
                f"{entry.name} (instance {instance}) is still deployed: `lab tutorial resume "
                f"{entry.name}` continues it, `--reuse` starts over on it, `lab down {entry.name}` "
                "removes it"
            )
        return request
    saved = ProgressStore().load(instance)
    if saved is None:
        raise UsageError(f"no saved progress of {entry.name} (instance {instance}): "
                         f"start it with `lab tutorial start {entry.name}`")
    flags_name_clusters = request.kubeconfig or request.context or any(request.role_contexts.values())
    first = next(iter(saved.targets.values()), {})
    return dataclasses.replace(
        request,
        sets=[*saved.sets, *request.sets],
        values=[*(Path(v) for v in saved.values), *request.values],
        kubeconfig=request.kubeconfig or (
            Path(str(first["kubeconfig"])) if first.get("kubeconfig") and not flags_name_clusters else None
        ),
        role_contexts=request.role_contexts if flags_name_clusters else {
            role: t.get("context") for role, t in saved.targets.items()
        },
        reuse=True,
    )


def _wait(future: Any, guard: Interrupts) -> ConductReport:
    while True:
        try:
            report: ConductReport = future.result(timeout=0.2)
            return report
        except TimeoutError:
            continue
        except KeyboardInterrupt:
            guard.stop.set()


def _instance(name: str, given: str | None) -> str | None:
    if not given:
        return None
    from illm_lab.engine.inventory import instance_id

    return instance_id(name, given)


def exit_code(reports: list[ConductReport]) -> int:
    return worst_exit_code([r.exit_code for r in reports])


def down(
    experiment: str,
    *,
    run_id: str | None = None,
    instance: str | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    experiments_dir: Path | None = None,
    on_event: Callable[[Any], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    timeout: float | None = None,
    force_finalizers: bool = False,
) -> DownResult:
    """Remove what the runs of the instance left, within `timeout` seconds (default two
    minutes). Run files that cannot be read are skipped, each named through `on_warning` before
    anything is deleted, and listed in `warnings`. `force_finalizers`: see `engine.holds`."""
    from illm_lab.config import selection as targets
    from illm_lab.deploy import teardown
    from illm_lab.ledger import Ledger

    entry = catalog.find(paths.experiments_dir(experiments_dir), experiment)
    ledger = Ledger()
    chosen_instance = _instance(entry.name, instance)
    if run_id:
        record = ledger.load(run_id)
        if record.experiment != entry.name:
            raise UsageError(f"run {run_id} belongs to {record.experiment}, not {entry.name}")
        chosen_instance = record.instance
    from illm_lab.engine.inventory import instance_id

    chosen_instance = chosen_instance or instance_id(entry.name)
    outstanding = ledger.outstanding(chosen_instance)
    warnings = [f"{u} (skipped)" for u in ledger.unreadable(chosen_instance)]
    if on_warning is not None:
        for warning in warnings:
            on_warning(warning)
    if not any(o.refs for o in outstanding.values()) and not ledger.created_clusters(chosen_instance):
        return teardown.DownResult(
            chosen_instance, message=f"nothing of {entry.name} (instance {chosen_instance}) is deployed",
            warnings=tuple(warnings),
        )
    chosen = None
    if kubeconfig or context:
        chosen = targets.select(entry.experiment, sorted(outstanding), kubeconfig=kubeconfig, context=context)
    started = time.monotonic()
    result = teardown.delete_instance(
        entry, instance=chosen_instance, targets=chosen, on_event=on_event, ledger=ledger,
        deadline=started + timeout if timeout is not None else None,
        force_finalizers=force_finalizers,
    )
    return teardown.DownResult(chosen_instance, result, seconds=time.monotonic() - started,
                               warnings=tuple(warnings))


def status(experiment: str | None = None) -> list[StatusRow]:
    """Runs in the ledger, newest first; run files that cannot be read come last, with state
    `unreadable`, their `file` and the `error` (the CLI warns about each)."""
    from illm_lab.ledger import Ledger
    from illm_lab.ledger.status import rows

    return rows(Ledger(), experiment)


def validate(
    experiment: str,
    *,
    sets: list[str],
    values: list[Path],
    kubeconfig: Path | None,
    context: str | None,
    role_contexts: dict[str, str | None],
    instance: str | None,
    experiments_dir: Path | None,
    allow_commands: bool = False,
) -> ConductReport:
    """Run the checks against what is deployed now; apply and delete nothing (job checks create
    and remove their own Job, recorded in a run of the ledger). Command checks run only when
    allowed (`allow_commands`, the lab config, or trust: config/trust.py)."""
    from illm_lab.base.errors import LabError
    from illm_lab.conduct.checking import all_checks
    from illm_lab.config import selection as targets
    from illm_lab.config.trust import refuse_unless_allowed
    from illm_lab.engine.inventory import Inventory, instance_id
    from illm_lab.ledger import Ledger

    entry = catalog.find(paths.experiments_dir(experiments_dir), experiment)
    refuse_unless_allowed(entry.experiment, entry.folder, allowed=allow_commands)
    ready = catalog.prepare(entry, values, sets)
    entry, resolved = ready.entry, ready.params
    checks = all_checks(entry.experiment, with_checkpoints=True)
    roles: list[str] = sorted({str(c.cluster) for c, _ in checks})
    chosen = targets.select(
        entry.experiment, roles, kubeconfig=kubeconfig, context=context, role_contexts=role_contexts,
        instance=_instance(entry.name, instance),
    )
    inventory = Inventory(entry.name, _instance(entry.name, instance) or instance_id(entry.name))
    report = ConductReport(experiment=entry.name, instance=inventory.instance)
    started = time.monotonic()
    ledger = Ledger()
    with (
        Interrupts() as guard,
        ledger.start(entry.experiment, resolved, instance=inventory.instance, command="validate") as run,
    ):
        report.run_id = run.id
        clusters: dict[str, Any] = {}
        try:
            _check_live(run, report, roles, chosen, inventory, checks, clusters, guard.stop)
        except KeyboardInterrupt:
            report.interrupted = True
        except LabError as exc:
            report.error, report.error_code, report.error_detail = str(exc), exc.exit_code, exc.detail
        finally:
            for cluster in clusters.values():
                cluster.close()
            run.finish(
                "interrupted" if report.interrupted else ("succeeded" if report.passed else "failed"),
                error=report.error,
            )
    report.duration = time.monotonic() - started
    return report


def _check_live(
    run: Any, report: ConductReport, roles: list[str], chosen: dict[str, Any], inventory: Any,
    checks: list[Any], clusters: dict[str, Any], stop: Any,
) -> None:
    """`lab validate` inside its ledger run: open each role's cluster into `clusters` (the caller
    closes them), then run every check and record it in the report and the run."""
    from illm_lab.conduct.checking import CheckSession
    from illm_lab.deploy.deployment import open_cluster

    for role in roles:
        clusters[role] = open_cluster(run, role, chosen[role])
        report.clusters[role] = {"context": clusters[role].context, "server": clusters[role].server}
    session = CheckSession(run, inventory, clusters, {r: t.kubeconfig for r, t in chosen.items()}, stop)
    for check, checkpoint in checks:
        result = session.run(check, checkpoint)
        report.checks.append(result)
        run.check_result(check.name, ok=result.passed, message=result.message)
