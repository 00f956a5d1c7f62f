"""`lab conduct`, `lab down`, `lab status`, `lab validate`: the experiment lifecycle."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from illm_lab import ui
from illm_lab.cli.options import (
    AllowCommandsOpt,
    ContextOpt,
    EventsOpt,
    Format,
    HubContextOpt,
    InstanceOpt,
    JunitOpt,
    KubeconfigOpt,
    LoadgenContextOpt,
    OutputOpt,
    SetOpt,
    TargetContextOpt,
    ValuesOpt,
    complete_experiment,
    complete_phase,
    settings,
    show,
)

if TYPE_CHECKING:
    from illm_lab.reports.conduct import ConductReport


def register(app: typer.Typer) -> None:
    app.command("conduct")(conduct_cmd)
    app.command("down")(down_cmd)
    app.command("status")(status_cmd)
    app.command("validate")(validate_cmd)


def conduct_cmd(
    ctx: typer.Context,
    experiments: Annotated[list[str] | None, typer.Argument(help="Experiments to conduct.",
            autocompletion=complete_experiment)] = None,
    phase: Annotated[str | None, typer.Option(help="Every experiment of this phase.",
            autocompletion=complete_phase)] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Every experiment with this tag.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every experiment of the catalog.")] = False,
    set_: SetOpt = None,
    values: ValuesOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    target_context: TargetContextOpt = None,
    loadgen_context: LoadgenContextOpt = None,
    hub_context: HubContextOpt = None,
    keep: Annotated[bool, typer.Option("--keep", help="Leave everything deployed.")] = False,
    keep_on_failure: Annotated[
        bool, typer.Option("--keep-on-failure", help="Leave everything deployed if a check fails.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; touch no cluster.")] = False,
    reuse: Annotated[bool, typer.Option("--reuse", help="Conduct over a kept deployment.")] = False,
    record: Annotated[
        bool, typer.Option("--record", help="Write experiments/<x>/validation.yaml (commit it).")
    ] = False,
    force_conflicts: Annotated[
        bool, typer.Option("--force-conflicts", help="Take over fields another manager owns.")
    ] = False,
    instance: InstanceOpt = None,
    ci: Annotated[
        bool, typer.Option("--ci", help="Non-interactive: tutorial checkpoints run as checks.")
    ] = False,
    parallel: Annotated[int, typer.Option("--parallel", min=1, max=16, help="Experiments at once.")] = 1,
    events: EventsOpt = None,
    junit: JunitOpt = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the report as one self-contained HTML file.")
    ] = None,
    check_timeout: Annotated[
        str | None,
        typer.Option("--check-timeout", help="Deadline of every check, e.g. 30s (overrides each)."),
    ] = None,
    teardown_timeout: Annotated[str, typer.Option(
        "--teardown-timeout", help="How long teardown waits for everything to be gone, e.g. 2m.",
    )] = "5m",
    allow_commands: AllowCommandsOpt = False,
    output: OutputOpt = Format.table,
) -> None:
    """Deploy an experiment, wait, run its checks (and load workflow), report, tear down.

    On a terminal, a tutorial experiment runs its tutorial session before the teardown.

    Examples:

    \b
      lab conduct hello-app
      lab conduct hello-app --context kind-lab --keep
      lab conduct --phase 1 --ci --junit report.xml -o json
      lab conduct hello-app --dry-run
    """
    from illm_lab import lifecycle

    interactive = not ci and sys.stdin.isatty()
    request = lifecycle.ConductRequest(
        names=list(experiments or []),
        phase=phase,
        tags=list(tag or []),
        all=all_,
        sets=list(set_ or []),
        values=list(values or []),
        kubeconfig=kubeconfig,
        context=context,
        role_contexts={"target": target_context, "loadgen": loadgen_context, "hub": hub_context},
        keep=keep,
        keep_on_failure=keep_on_failure,
        dry_run=dry_run,
        reuse=reuse,
        record=record,
        force_conflicts=force_conflicts,
        instance=instance,
        interactive=interactive,
        learner=ui.TutorialView() if interactive else None,
        parallel=parallel,
        events_file=events,
        experiments_dir=settings(ctx).experiments_dir,
        check_timeout=duration_flag("--check-timeout", check_timeout),
        teardown_timeout=duration_flag("--teardown-timeout", teardown_timeout) or 0.0,
        allow_commands=allow_commands,
    )
    run_and_report(request, junit, output, html=html)


def run_and_report(request: Any, junit: Path | None, output: Format, *, html: Path | None = None) -> None:
    """Conduct, write the JUnit file, print the reports, exit with the worst exit code."""
    from illm_lab import lifecycle

    live = ui.ConductView(json_mode=output is not Format.table)
    view: Any = live
    if request.events_file is not None and str(request.events_file) == "-":  # `--events -`: stdout
        request.events_file, view = None, ui.EventLines(live)
    try:
        reports = lifecycle.conduct_many(request, view)
    finally:
        live.close()
    write_junit(reports, junit)
    data = [r.as_dict() for r in reports]
    if html is not None:
        from illm_lab.cli.report import write_html

        write_html(data, html)
    for report in reports:
        if report.error:
            ui.error(f"{report.experiment}: {report.error}")
            if ui.state.verbose and report.error_detail:
                ui.detail(report.error_detail)
    show(output, data, lambda: ui.conduct_summary(reports))  # always a list (docs/reports.md)
    raise typer.Exit(lifecycle.exit_code(reports))


def down_cmd(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="Experiment whose deployment to remove.",
            autocompletion=complete_experiment)],
    run: Annotated[str | None, typer.Option("--run", help="The instance of this run id.")] = None,
    instance: InstanceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    timeout: Annotated[str, typer.Option(
        "--timeout", help="How long to wait for everything to be gone, e.g. 5m.")] = "2m",
    force_finalizers: Annotated[bool, typer.Option(
        "--force-finalizers",
        help="Remove the finalizers of objects still held after 15s (may strand what they guard).",
    )] = False,
    output: OutputOpt = Format.table,
) -> None:
    """Remove everything the runs of an experiment left on its clusters (safe to re-run).

    Examples:

    \b
      lab down hello-app
      lab down hello-app --instance second
      lab down hello-app --force-finalizers
    """
    from illm_lab import lifecycle

    result = lifecycle.down(
        experiment,
        run_id=run,
        instance=instance,
        kubeconfig=kubeconfig,
        context=context,
        experiments_dir=settings(ctx).experiments_dir,
        on_event=ui.engine_event,
        on_warning=ui.warn,
        timeout=duration_flag("--timeout", timeout),
        force_finalizers=force_finalizers,
    )
    show(output, result.as_dict(), lambda: ui.down_summary(result))


def status_cmd(
    experiment: Annotated[str | None, typer.Argument(help="Only runs of this experiment.")] = None,
    output: OutputOpt = Format.table,
) -> None:
    """Runs recorded in the ledger: state, clusters, what is still deployed."""
    from illm_lab import lifecycle

    rows = lifecycle.status(experiment)
    for row in rows:
        if row.unreadable:
            ui.warn(f"{row.file}: {row.error} (skipped)")
    show(output, [r.as_dict() for r in rows], lambda: ui.status_table(rows))


def validate_cmd(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="Experiment to check.",
            autocompletion=complete_experiment)],
    set_: SetOpt = None,
    values: ValuesOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    target_context: TargetContextOpt = None,
    loadgen_context: LoadgenContextOpt = None,
    hub_context: HubContextOpt = None,
    instance: InstanceOpt = None,
    junit: JunitOpt = None,
    allow_commands: AllowCommandsOpt = False,
    output: OutputOpt = Format.table,
) -> None:
    """Re-run an experiment's checks against its live deployment (nothing applied or deleted).

    Examples:

    \b
      lab conduct hello-app --keep && lab validate hello-app
      lab validate hello-app --junit - -o json
    """
    from illm_lab import lifecycle

    report = lifecycle.validate(
        experiment,
        sets=list(set_ or []),
        values=list(values or []),
        kubeconfig=kubeconfig,
        context=context,
        role_contexts={"target": target_context, "loadgen": loadgen_context, "hub": hub_context},
        instance=instance,
        experiments_dir=settings(ctx).experiments_dir,
        allow_commands=allow_commands,
    )
    write_junit([report], junit)
    # the shape of `lab conduct -o json`: a list
    show(output, [report.as_dict()], lambda: ui.conduct_summary([report]))
    raise typer.Exit(report.exit_code)


def write_junit(reports: list[ConductReport], junit: Path | None) -> None:
    """`--junit FILE`, or `--junit -` for stdout."""
    if junit is None:
        return
    from illm_lab.reports import junit as junit_report

    if str(junit) == "-":
        import xml.etree.ElementTree as ET

        root = junit_report.build(reports)
        ET.indent(root)
        ui.text(ET.tostring(root, encoding="unicode", xml_declaration=True))
    else:
        junit_report.write(reports, junit)


def duration_flag(flag: str, value: str | None) -> float | None:
    from illm_lab.base.errors import UsageError
    from illm_lab.model.base import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"{flag} {value[:40]!r}: {exc}") from None
