"""`lab trust`: which experiments may run local programs (`command` checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from illm_lab import ui
from illm_lab.cli.options import Format, OutputOpt, show


def register(app: typer.Typer) -> None:
    app.command("trust")(trust_cmd)


def trust_cmd(
    folders: Annotated[
        list[Path] | None,
        typer.Argument(help="Experiment folders, or catalogs (every experiment in them).",
                       show_default=False),
    ] = None,
    forget: Annotated[bool, typer.Option("--forget", help="Stop trusting them.")] = False,
    output: OutputOpt = Format.table,
) -> None:
    """Trust experiments to run their `command` checks; without a folder, list what is trusted.

    A `command` check runs a program on your machine with your rights. It runs without asking
    for the catalog you work in (the experiments/ folder of this directory or one above), for an
    experiment trusted here — as it is now: when one of its files changes, lab asks again — and
    with --allow-commands. Read what an experiment runs first: lab show NAME.

    Examples:

    \b
      lab trust ~/src/team-lab/experiments/grpc-probe
      lab trust ~/src/team-lab/experiments        # every experiment of that catalog
      lab trust                                   # what is trusted, and whether it still is
      lab trust --forget ~/src/team-lab/experiments/grpc-probe
    """
    from illm_lab.config import trust

    if not folders:
        if forget:
            raise typer.BadParameter("name the folders to forget", param_hint="--forget")
        listed = trust.as_rows(trust.load())
        show(output, [r.as_dict() for r in listed], lambda: ui.trust_list(listed))
        return
    done = trust.trust_paths(folders, forget=forget)
    show(output, [d.as_dict() for d in done], lambda: ui.trust_report(done))
