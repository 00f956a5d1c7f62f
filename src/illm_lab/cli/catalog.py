"""`lab list`, `lab show`, `lab new`, `lab schema`: reading and growing the catalog."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from illm_lab import ui
from illm_lab.base import paths
from illm_lab.base.errors import EXIT_BAD_INPUT
from illm_lab.cli.options import Format, OutputOpt, complete_experiment, complete_phase, settings, show


def register(app: typer.Typer) -> None:
    app.command("list")(list_cmd)
    app.command("show")(show_cmd)
    app.command("new")(new_cmd)
    app.command("schema")(schema_cmd)


def list_cmd(
    ctx: typer.Context,
    phase: Annotated[
        str | None, typer.Option(help="Only this phase (3 matches 3 and 3.x) or appendix letter.",
                                  autocompletion=complete_phase)
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only experiments with this tag.")] = None,
    output: OutputOpt = Format.table,
) -> None:
    """List the experiments of the catalog.

    Examples:

    \b
      lab list
      lab list --phase 3 --tag http
      lab list -o json
    """
    from illm_lab.catalog import index

    found, problems = index.summaries(paths.experiments_dir(settings(ctx).experiments_dir))
    chosen = index.select(found, phase=phase, tags=tag)
    show(output, chosen, lambda: ui.table(None, *_rows(chosen)))
    for problem in problems:
        ui.error(problem)
    if problems:
        raise typer.Exit(EXIT_BAD_INPUT)


def _rows(found: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    cols = ["NAME", "PHASE", "TYPE", "TITLE", "TAGS"]
    return cols, [[s["name"], s["phase"], s["type"], s["title"], ",".join(s["tags"])] for s in found]


def show_cmd(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="Experiment name.", autocompletion=complete_experiment)],
    output: OutputOpt = Format.table,
) -> None:
    """Show one experiment: metadata, params, components and checks.

    Examples:

    \b
      lab show hello-app
      lab show hello-app -o yaml
    """
    from illm_lab import catalog
    from illm_lab.catalog import views

    entry = catalog.find(paths.experiments_dir(settings(ctx).experiments_dir), experiment)
    data = views.experiment_detail(entry)
    show(output, data, lambda: ui.lines(views.detail_lines(entry)))


def new_cmd(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="Name of the new experiment (a DNS label).")],
    title: Annotated[str | None, typer.Option(help="Title [default: from the name].")] = None,
    phase: Annotated[str, typer.Option(help="Roadmap phase, section or appendix letter.")] = "1",
    type_: Annotated[
        str, typer.Option("--type", help="tutorial | comparison | benchmark | demo.")
    ] = "demo",
) -> None:
    """Scaffold a new experiment from experiments/_template.

    Examples:

    \b
      lab new my-exp --phase 2
      lab new my-tutorial --type tutorial
    """
    from illm_lab.authoring import scaffold

    root = paths.experiments_dir(settings(ctx).experiments_dir)
    folder = scaffold.create(root, experiment, title=title, phase=phase, type_=type_)
    ui.info(f"created {folder}/ — edit experiment.yaml, then run: lab lint {experiment}")


def schema_cmd() -> None:
    """Print the JSON Schema of experiment.yaml."""
    from illm_lab.catalog import schema

    ui.text(schema.schema_json())
