"""`lab`: the root command, global options, and the console-script entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from illm_lab import __version__, ui
from illm_lab.base import paths
from illm_lab.cli import adr as adr_cmds
from illm_lab.cli import catalog as catalog_cmds
from illm_lab.cli import charts as charts_cmds
from illm_lab.cli import conduct as conduct_cmds
from illm_lab.cli import deploy as deploy_cmds
from illm_lab.cli import doctor as doctor_cmds
from illm_lab.cli import hub as hub_cmds
from illm_lab.cli import kubeconfig as kubeconfig_cmds
from illm_lab.cli import render as render_cmds
from illm_lab.cli import report as report_cmds
from illm_lab.cli import roadmap as roadmap_cmds
from illm_lab.cli import trust as trust_cmds
from illm_lab.cli import tutorial as tutorial_cmds
from illm_lab.cli.handler import LabGroup
from illm_lab.cli.options import Settings

app = typer.Typer(
    cls=LabGroup,
    name="lab",
    help="Run, check and tear down Kubernetes learning experiments with one command.",
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        ui.text(f"lab {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug detail.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    experiments_dir: Annotated[
        Path | None,
        typer.Option(
            "--experiments-dir",
            envvar="LAB_EXPERIMENTS_DIR",
            help="Where experiments live [default: ./experiments].",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Lab config file [default: $LAB_CONFIG, else ~/.config/illm-lab/config.yaml].",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ui.configure(quiet=quiet, verbose=verbose)
    paths.use_config_file(config)  # every invocation sets it, so none inherits another's
    ctx.obj = Settings(verbose=verbose, quiet=quiet, experiments_dir=experiments_dir)


@app.command("version")
def version_cmd() -> None:
    """Print the version (the same as `lab --version`)."""
    ui.text(f"lab {__version__}")


catalog_cmds.register(app)
render_cmds.register(app)
deploy_cmds.register(app)
conduct_cmds.register(app)
app.add_typer(charts_cmds.app, name="charts")
app.add_typer(hub_cmds.app, name="hub")
kubeconfig_cmds.register(app)
app.add_typer(tutorial_cmds.app, name="tutorial")
doctor_cmds.register(app)
roadmap_cmds.register(app)
adr_cmds.register(app)
report_cmds.register(app)
trust_cmds.register(app)


# The help lists the commands in these panels (Typer's `rich_help_panel`), in this order.
PANELS = {
    "Offline authoring": ["list", "show", "render", "lint", "new", "schema", "charts", "roadmap", "adr",
                          "site"],
    "Cluster": ["conduct", "apply", "diff", "validate", "status", "down", "kubeconfig", "report"],
    "Learning": ["tutorial"],
    "Hub": ["hub"],
    "Setup": ["doctor", "trust", "version"],
}


def _assign_panels(typer_app: typer.Typer) -> None:
    panel_of = {name: panel for panel, names in PANELS.items() for name in names}
    for command in typer_app.registered_commands:
        command.rich_help_panel = panel_of.get(command.name or "", command.rich_help_panel)
    for group in typer_app.registered_groups:
        name = group.name or (group.typer_instance.info.name if group.typer_instance else None)
        group.rich_help_panel = panel_of.get(name if isinstance(name, str) else "", group.rich_help_panel)


_assign_panels(app)
LabGroup.panel_order = PANELS


def main() -> None:
    app(prog_name="lab")
