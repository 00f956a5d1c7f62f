"""`lab adr new` and `lab adr list`: the architecture decision records under adrs/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from illm_lab import ui
from illm_lab.cli.options import Format, OutputOpt, show

adr_app = typer.Typer(
    name="adr",
    help="Architecture decision records: number a new one, list them.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

AdrsDirOpt = Annotated[
    Path | None, typer.Option("--adrs-dir", help="Where the ADRs live [default: ./adrs].")
]


def register(app: typer.Typer) -> None:
    app.add_typer(adr_app)


@adr_app.command("new")
def new_cmd(
    title: Annotated[str, typer.Argument(help='Title of the decision, e.g. "Use Talos by default".')],
    adrs_dir: AdrsDirOpt = None,
) -> None:
    """Write the next numbered ADR from adrs/template.md and print its path."""
    from illm_lab.authoring import adr

    path = adr.create(adr.adrs_dir(adrs_dir), title)
    ui.text(str(path))


@adr_app.command("list")
def list_cmd(adrs_dir: AdrsDirOpt = None, output: OutputOpt = Format.table) -> None:
    """List the ADRs: number, title, status."""
    from illm_lab.authoring import adr

    records = adr.list_all(adr.adrs_dir(adrs_dir))
    data = [
        {"number": a.number, "id": a.ident, "title": a.title, "status": a.status, "file": str(a.path)}
        for a in records
    ]
    show(output, data, lambda: ui.table(None, ["NUMBER", "TITLE", "STATUS"],
                                         [[a.ident, a.title, a.status] for a in records]))
