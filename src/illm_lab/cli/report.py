"""`lab report` (a past conduct's report, also as one HTML file) and `lab site build` (a static
site of the roadmap, the validations and the ADRs). `lab conduct --html` shares `write_html`.

Both import matplotlib and the templates only when they run: `lab --help` must stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from illm_lab import ui
from illm_lab.base import paths
from illm_lab.cli.options import Format, OutputOpt, settings, show

HtmlOpt = Annotated[
    Path | None,
    typer.Option("--html", help="Write the report as one self-contained HTML file."),
]

site_app = typer.Typer(
    name="site",
    help="A static site of the roadmap's progress, the experiments' validations and the ADRs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
    app.add_typer(site_app, name="site")


def report_cmd(
    ref: Annotated[
        str, typer.Argument(help="A run id (see lab status), or an experiment: its latest run.")
    ],
    html: HtmlOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """The report of a past conduct, kept when it finished: checks, metrics, verdict."""
    from illm_lab.reports import store
    from illm_lab.reports.conduct import ConductReport

    data = store.load(ref)  # the kept JSON is shown as it was written, fields of newer labs too
    report = ConductReport.from_dict(data)
    if html is not None:
        write_html([data], html)
        ui.info(f"report of run {report.run_id}: {html}")
    show(output, [data], lambda: ui.conduct_summary([report]))  # the shape of `lab conduct -o json`


def write_html(reports: list[dict[str, Any]], path: Path) -> None:
    """The reports as one HTML page, with the objects each run's ledger entry recorded."""
    from illm_lab.reports import html

    html.write(path, html.render(reports, _objects(reports)))


def _objects(reports: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    from illm_lab.base.errors import LabError
    from illm_lab.ledger import Ledger

    ledger = Ledger()
    found: dict[str, list[dict[str, Any]]] = {}
    for report in reports:
        if report.get("run"):
            try:
                found[str(report["run"])] = ledger.load(str(report["run"])).objects
            except LabError:  # the ledger entry was removed: the page shows the counts only
                continue
    return found


@site_app.command("build")
def site_build_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the site into.")] = Path("site"),
    roadmap_dir: Annotated[
        Path | None, typer.Option("--roadmap-dir", help="Where the roadmap lives [default: ./roadmap].")
    ] = None,
    adrs_dir: Annotated[
        Path | None,
        typer.Option("--adrs-dir", help="Where the ADRs live [default: adrs/ next to the roadmap dir]."),
    ] = None,
) -> None:
    """Build the site from the roadmap, the committed validation records and the ADRs."""
    from illm_lab.authoring import roadmap
    from illm_lab.cli.sitedata import gather
    from illm_lab.reports import site

    road_root = roadmap.roadmap_dir(roadmap_dir)
    data = gather(
        road_root,
        paths.experiments_dir(settings(ctx).experiments_dir),
        adrs_dir or road_root.absolute().parent / "adrs",
    )
    pages = site.build(data, out)
    for warning in data.warnings:
        ui.warn(warning)
    ui.info(f"{len(pages)} pages in {out}/: open {pages[0]}")
