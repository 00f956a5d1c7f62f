"""`lab roadmap`: progress through the learning roadmap, computed from the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from illm_lab import ui
from illm_lab.base import paths
from illm_lab.cli.options import Format, OutputOpt, settings, show


def register(app: typer.Typer) -> None:
    app.command("roadmap")(roadmap_cmd)


def roadmap_cmd(
    ctx: typer.Context,
    phase: Annotated[
        str | None,
        typer.Option(help="Show one checklist: a phase (3), a section (3.1) or an appendix (A)."),
    ] = None,
    roadmap_dir: Annotated[
        Path | None, typer.Option("--roadmap-dir", help="Where the roadmap lives [default: ./roadmap].")
    ] = None,
    adrs_dir: Annotated[
        Path | None,
        typer.Option("--adrs-dir", help="Where the ADRs live [default: adrs/ next to the roadmap dir]."),
    ] = None,
    output: OutputOpt = Format.table,
) -> None:
    """Progress: phases built, validated and learner-completed; experiments validated (stale
    records do not count); your tutorial checkpoints; ADRs; appendices."""
    from illm_lab.authoring import roadmap
    from illm_lab.tutorial import progress as tutorial_progress

    road_root = roadmap.roadmap_dir(roadmap_dir)
    learner, unreadable = tutorial_progress.passed_by_experiment()
    prog = roadmap.progress(
        road_root,
        paths.experiments_dir(settings(ctx).experiments_dir),
        adrs_dir or road_root.absolute().parent / "adrs",
        learner=learner,
    )
    if phase is not None:
        status, section = roadmap.find(prog, phase)
        show(output, roadmap.detail(status, section), lambda: ui.table(
            roadmap.detail_title(status, section), *roadmap.checklist_rows(status, section)))
    else:
        def tables() -> None:
            ui.table("Progress", *roadmap.metric_rows(prog))
            ui.table(None, *roadmap.phase_rows(prog))

        show(output, roadmap.summary(prog), tables)
    for warning in [*prog.warnings, *(f"{p} (left out of the tutorial progress)" for p in unreadable)]:
        ui.warn(warning)
