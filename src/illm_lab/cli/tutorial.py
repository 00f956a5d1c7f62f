"""`lab tutorial list | show | start | check | resume | reset`: guided, self-verifying tutorials."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from illm_lab import ui
from illm_lab.base.errors import EXIT_BAD_INPUT
from illm_lab.cli.conduct import duration_flag, run_and_report
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
    settings,
    show,
)

app = typer.Typer(
    help="Guided tutorials on a live cluster: deploy, follow the checkpoints, get each verified.",
    no_args_is_help=True,
)

ExperimentArg = Annotated[str, typer.Argument(help="Tutorial experiment.",
        autocompletion=complete_experiment)]
KeepOpt = Annotated[bool, typer.Option("--keep", help="Leave the deployment running when you quit.")]
CiOpt = Annotated[
    bool, typer.Option("--ci", help="Non-interactive: checkpoints run as checks (each after its solution).")
]
CheckTimeoutOpt = Annotated[
    str | None,
    typer.Option("--check-timeout", help="Deadline of every check, e.g. 30s [default: 5s in a session]."),
]


@app.command("list")
def list_cmd(ctx: typer.Context, output: OutputOpt = Format.table) -> None:
    """The catalog's tutorials and how far you got in each.

    Examples:

    \b
      lab tutorial list
      lab tutorial start <name>
    """
    from illm_lab.tutorial import listing
    from illm_lab.tutorial.listing import TutorialRow

    rows, problems = listing.tutorials(settings(ctx).experiments_dir)
    rows.sort(key=TutorialRow.order)
    show(output, [r.as_dict() for r in rows], lambda: ui.tutorial_list(rows))
    for problem in problems:
        ui.error(problem)
    if problems:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    experiment: ExperimentArg,
    instance: InstanceOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """The services and every checkpoint's instructions, as a learner will see them."""
    from illm_lab.tutorial import listing

    shown = listing.detail(experiment, instance=instance, experiments_dir=settings(ctx).experiments_dir)
    show(output, shown.as_dict(), lambda: ui.tutorial_detail(shown))


def _start(
    ctx: typer.Context,
    experiment: str,
    *,
    resume: bool,
    set_: list[str] | None,
    values: list[Path] | None,
    kubeconfig: Path | None,
    context: str | None,
    role_contexts: dict[str, str | None],
    keep: bool,
    reuse: bool,
    instance: str | None,
    ci: bool,
    events: Path | None,
    junit: Path | None,
    check_timeout: str | None,
    output: Format,
    allow_commands: bool = False,
) -> None:
    from illm_lab import lifecycle

    interactive = not ci and sys.stdin.isatty()
    request = lifecycle.tutorial_request(lifecycle.ConductRequest(
        names=[experiment],
        sets=list(set_ or []),
        values=list(values or []),
        kubeconfig=kubeconfig,
        context=context,
        role_contexts=role_contexts,
        keep=keep,
        reuse=reuse,
        instance=instance,
        interactive=interactive,
        learner=ui.TutorialView() if interactive else None,
        resume=resume,
        events_file=events,
        experiments_dir=settings(ctx).experiments_dir,
        check_timeout=duration_flag("--check-timeout", check_timeout),
        allow_commands=allow_commands,
    ))
    run_and_report(request, junit, output)


@app.command("start")
def start_cmd(
    ctx: typer.Context,
    experiment: ExperimentArg,
    set_: SetOpt = None,
    values: ValuesOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    target_context: TargetContextOpt = None,
    loadgen_context: LoadgenContextOpt = None,
    hub_context: HubContextOpt = None,
    keep: KeepOpt = False,
    reuse: Annotated[bool, typer.Option("--reuse", help="Start over a kept deployment.")] = False,
    instance: InstanceOpt = None,
    ci: CiOpt = False,
    events: EventsOpt = None,
    junit: JunitOpt = None,
    check_timeout: CheckTimeoutOpt = None,
    allow_commands: AllowCommandsOpt = False,
    output: OutputOpt = Format.table,
) -> None:
    """Deploy a tutorial and walk its checkpoints from the first (tears down when you quit,
    unless --keep). Without a terminal, or with --ci, the checkpoints run as checks.

    Examples:

    \b
      lab tutorial start argocd-gitops
      lab tutorial start argocd-gitops --keep
      lab tutorial start argocd-gitops --ci
    """
    _start(
        ctx, experiment, resume=False, set_=set_, values=values, kubeconfig=kubeconfig, context=context,
        role_contexts={"target": target_context, "loadgen": loadgen_context, "hub": hub_context},
        keep=keep, reuse=reuse, instance=instance, ci=ci, events=events, junit=junit,
        check_timeout=check_timeout, output=output, allow_commands=allow_commands,
    )


@app.command("resume")
def resume_cmd(
    ctx: typer.Context,
    experiment: ExperimentArg,
    set_: SetOpt = None,
    values: ValuesOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    target_context: TargetContextOpt = None,
    loadgen_context: LoadgenContextOpt = None,
    hub_context: HubContextOpt = None,
    keep: KeepOpt = False,
    instance: InstanceOpt = None,
    ci: CiOpt = False,
    events: EventsOpt = None,
    junit: JunitOpt = None,
    check_timeout: CheckTimeoutOpt = None,
    allow_commands: AllowCommandsOpt = False,
    output: OutputOpt = Format.table,
) -> None:
    """Continue where you left off: the saved progress, over the kept deployment (deployed
    again if it was torn down), with the params and clusters the tutorial started with."""
    _start(
        ctx, experiment, resume=True, set_=set_, values=values, kubeconfig=kubeconfig, context=context,
        role_contexts={"target": target_context, "loadgen": loadgen_context, "hub": hub_context},
        keep=keep, reuse=True, instance=instance, ci=ci, events=events, junit=junit,
        check_timeout=check_timeout, output=output, allow_commands=allow_commands,
    )


@app.command("check")
def check_cmd(
    ctx: typer.Context,
    checkpoint: Annotated[
        str | None, typer.Argument(help="Checkpoint name [default: the one you are on].")
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option("--experiment", "-e", help="Tutorial [default: the one in progress]."),
    ] = None,
    instance: InstanceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    check_timeout: CheckTimeoutOpt = None,
    allow_commands: AllowCommandsOpt = False,
    output: OutputOpt = Format.table,
) -> None:
    """Verify a checkpoint now (from a second terminal, beside the session); the session sees the
    result and moves on. Exit 0 if it passed, 1 if not yet."""
    from illm_lab.base.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
    from illm_lab.tutorial import verify

    outcome = verify.check(
        checkpoint, experiment=experiment, instance=instance, kubeconfig=kubeconfig, context=context,
        check_timeout=duration_flag("--check-timeout", check_timeout),
        experiments_dir=settings(ctx).experiments_dir, allow_commands=allow_commands,
    )
    if outcome.interrupted:
        ui.error("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED)
    show(output, outcome.as_dict(), lambda: ui.tutorial_check(outcome))
    raise typer.Exit(EXIT_OK if outcome.passed else EXIT_FAILED)


@app.command("reset")
def reset_cmd(ctx: typer.Context, experiment: ExperimentArg, instance: InstanceOpt = None) -> None:
    """Forget the saved progress (the deployment, if kept, stays: `lab down` removes it)."""
    from illm_lab.tutorial import listing

    ui.info(listing.reset(experiment, instance=instance, experiments_dir=settings(ctx).experiments_dir))
