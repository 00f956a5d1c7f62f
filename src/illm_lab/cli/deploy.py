"""`lab apply` and `lab diff`: deploy an experiment's components, or show what that would change."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from illm_lab import ui
from illm_lab.cli.options import (
    ContextOpt,
    ForceOpt,
    Format,
    HubContextOpt,
    InstanceOpt,
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


def register(app: typer.Typer) -> None:
    app.command("apply")(apply_cmd)
    app.command("diff")(diff_cmd)


def _prepare(
    ctx: typer.Context, experiment: str, values: list[Path] | None, set_: list[str] | None,
    kubeconfig: Path | None, context: str | None, roles: dict[str, str | None],
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from illm_lab import catalog
    from illm_lab.base import paths
    from illm_lab.config import selection as targets

    ready = catalog.prepare(catalog.find(paths.experiments_dir(settings(ctx).experiments_dir), experiment),
                            values, set_)
    entry, resolved = ready.entry, ready.params
    chosen = targets.select(
        entry.experiment, list(entry.experiment.spec.clusters), kubeconfig=kubeconfig,
        context=context, role_contexts=roles,
    )
    return entry, resolved, dict(chosen)


def apply_cmd(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="Experiment name.", autocompletion=complete_experiment)],
    set_: SetOpt = None,
    values: ValuesOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    target_context: TargetContextOpt = None,
    loadgen_context: LoadgenContextOpt = None,
    hub_context: HubContextOpt = None,
    force_conflicts: ForceOpt = False,
    instance: InstanceOpt = None,
    prune: Annotated[
        bool, typer.Option("--prune/--no-prune", help="Delete objects this instance no longer renders.")
    ] = True,
    output: OutputOpt = Format.table,
) -> None:
    """Deploy an experiment's components (server-side apply, waits, prune) — no checks, no teardown.

    Examples:

    \b
      lab apply hello-app --context kind-lab
      lab apply hello-app --set replicas=3 -o json
    """
    from illm_lab.conduct.interrupts import Interrupts
    from illm_lab.deploy import deployment as deploy
    from illm_lab.engine.inventory import instance_id

    roles = {"target": target_context, "loadgen": loadgen_context, "hub": hub_context}
    entry, resolved, chosen = _prepare(ctx, experiment, values, set_, kubeconfig, context, roles)
    with Interrupts():  # SIGTERM (a cancelled CI job) ends the ledger run as interrupted, like Ctrl-C
        result = deploy.apply_experiment(
            entry, resolved, targets=chosen, force_conflicts=force_conflicts, prune=prune,
            instance=instance_id(entry.name, instance) if instance else None,
            on_event=ui.engine_event,
        )
    show(output, result.as_dict(), lambda: ui.apply_summary(result))


def diff_cmd(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="Experiment name.", autocompletion=complete_experiment)],
    set_: SetOpt = None,
    values: ValuesOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    target_context: TargetContextOpt = None,
    loadgen_context: LoadgenContextOpt = None,
    hub_context: HubContextOpt = None,
    force_conflicts: ForceOpt = False,
    instance: InstanceOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """Show what `lab apply` would change (server-side dry run against the live objects).

    Exit 0 when nothing would change, 1 when something would (like `kubectl diff`).

    Examples:

    \b
      lab diff hello-app --context kind-lab
      lab diff hello-app --set replicas=3 || echo changes
    """
    from illm_lab.deploy import deployment as deploy
    from illm_lab.engine.inventory import instance_id

    roles = {"target": target_context, "loadgen": loadgen_context, "hub": hub_context}
    entry, resolved, chosen = _prepare(ctx, experiment, values, set_, kubeconfig, context, roles)
    items = deploy.diff_experiment(
        entry, resolved, targets=chosen, force_conflicts=force_conflicts,
        instance=instance_id(entry.name, instance) if instance else None,
    )
    show(output, [item.as_dict() for item in items], lambda: ui.diff_report(items))
    if any(item.action != "unchanged" for item in items):
        from illm_lab.base.errors import EXIT_FAILED

        raise typer.Exit(EXIT_FAILED)
