"""`lab hub bootstrap | status | destroy`: the hub cluster and its platform."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from illm_lab import ui
from illm_lab.cli.options import (
    ContextOpt,
    EventsOpt,
    Format,
    HubContextOpt,
    KubeconfigOpt,
    OutputOpt,
    SetOpt,
    ValuesOpt,
    show,
)

app = typer.Typer(help="The hub cluster and its platform (Argo CD, OpenBao, ...).",
                  no_args_is_help=True)


class ProviderName(StrEnum):
    default = "default"
    talos = "talos"
    talos_metal = "talos-metal"
    kind = "kind"
    existing = "existing"


PlatformOpt = Annotated[
    Path | None,
    typer.Option("--platform", envvar="LAB_PLATFORM_DIR",
                 help="Folder of the platform manifest [default: ./platform/hub]."),
]


def _request(**kwargs: Any) -> Any:
    from illm_lab.hub import HubRequest

    return HubRequest(**kwargs)


def _view(output: Format, events: Path | None) -> tuple[Any, Any, Any]:
    from illm_lab.base import events as ev

    view = ui.ConductView(json_mode=output is not Format.table)
    writer = ev.JsonLines(events) if events else None
    return view, writer, ev.Fanout(view, *([writer] if writer else []))


def _out(result: Any, output: Format, table: Any) -> None:
    show(output, result.as_dict(), lambda: table(result))


@app.command("bootstrap")
def bootstrap_cmd(
    provider: Annotated[
        ProviderName | None,
        typer.Option("--provider", help="Where the hub runs [default: lab config, else Talos, else kind]."),
    ] = None,
    components: Annotated[
        list[str] | None,
        typer.Option("--components", help="Only these platform components (comma-separated or repeated)."),
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    hub_context: HubContextOpt = None,
    platform: PlatformOpt = None,
    set_: SetOpt = None,
    values: ValuesOpt = None,
    force_conflicts: Annotated[
        bool, typer.Option("--force-conflicts", help="Take over fields another manager owns.")
    ] = False,
    events: EventsOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """Create or attach the hub cluster, install the platform, initialise and unseal OpenBao."""
    from illm_lab import hub

    chosen = [c.strip() for item in components or [] for c in item.split(",") if c.strip()]
    request = _request(
        provider=provider.value if provider else None, components=chosen, kubeconfig=kubeconfig,
        context=context, hub_context=hub_context, platform=platform, sets=list(set_ or []),
        values=list(values or []), force_conflicts=force_conflicts,
    )
    from illm_lab.conduct.interrupts import Interrupts

    view, writer, emit = _view(output, events)
    try:
        with Interrupts():  # SIGTERM (a cancelled CI job) ends the ledger run as interrupted, like Ctrl-C
            result = hub.bootstrap(request, emit)
    finally:
        view.close()
        if writer is not None:
            writer.close()
    _out(result, output, ui.hub_summary)


@app.command("status")
def status_cmd(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    hub_context: HubContextOpt = None,
    platform: PlatformOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """Is the hub reachable, its Kubernetes version, each platform component's health.
    Exit 0 when all is ready, 1 when a component is not, 3 when the hub cannot be reached."""
    from illm_lab import hub
    from illm_lab.base.errors import EXIT_CLUSTER, EXIT_FAILED, EXIT_OK

    found = hub.status(_request(kubeconfig=kubeconfig, context=context, hub_context=hub_context,
                                platform=platform))
    _out(found, output, ui.hub_status)
    if not found.reachable:
        ui.error(f"the hub is not reachable: {found.cluster.health.message}")
        raise typer.Exit(EXIT_CLUSTER)
    raise typer.Exit(EXIT_OK if found.ok else EXIT_FAILED)


@app.command("destroy")
def destroy_cmd(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    hub_context: HubContextOpt = None,
    platform: PlatformOpt = None,
    events: EventsOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """Remove what lab created for the hub: the platform, and the cluster if lab created it
    (an existing cluster is never deleted). Asks first unless --yes."""
    from illm_lab import hub
    from illm_lab.base.errors import EXIT_FAILED, UsageError

    request = _request(kubeconfig=kubeconfig, context=context, hub_context=hub_context,
                       platform=platform)
    if not yes:
        planned = hub.plan(request)
        if not sys.stdin.isatty():
            raise UsageError("lab hub destroy asks for confirmation: pass --yes when not at a terminal")
        if not ui.confirm(ui.hub_destroy_question(planned)):
            ui.info("nothing destroyed")
            raise typer.Exit(EXIT_FAILED)
    view, writer, emit = _view(output, events)
    try:
        result = hub.destroy(request, emit)
    finally:
        view.close()
        if writer is not None:
            writer.close()
    _out(result, output, ui.hub_destroy_summary)
