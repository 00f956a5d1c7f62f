"""`lab charts pull` and `lab charts list`: the Helm chart cache."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from illm_lab import ui
from illm_lab.base import paths
from illm_lab.base.errors import EXIT_CLUSTER
from illm_lab.cli.options import Format, OutputOpt, settings, show

if TYPE_CHECKING:
    from illm_lab.charts.prefetch import PullResult

app = typer.Typer(
    name="charts",
    help="Prefetch, import and list the Helm charts of experiments (the chart cache).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("pull")
def pull_cmd(
    ctx: typer.Context,
    experiments: Annotated[
        list[str] | None, typer.Argument(help="Experiments whose charts to pull [default: all].")
    ] = None,
    output: OutputOpt = Format.table,
) -> None:
    """Pull the pinned charts of experiments into the cache, so later runs and lint work offline."""
    from illm_lab import catalog
    from illm_lab.charts.prefetch import prefetch

    root = paths.experiments_dir(settings(ctx).experiments_dir)
    if experiments:
        entries = [catalog.find(root, name) for name in experiments]
    else:
        entries, problems = catalog.load_all(root)
        for problem in problems:
            ui.warn(f"skipped: {problem}")
    results = prefetch(entries, progress=_progress)
    show(output, [r.as_dict() for r in results], lambda: ui.table(
        None, ["EXPERIMENT", "COMPONENT", "CHART", "STATUS", "DIGEST"],
        [[r.experiment, r.component, r.chart, r.status, _short(r.digest)] for r in results]))
    failed = [r for r in results if r.status == "failed"]
    for result in failed:
        ui.error(f"{result.experiment}/{result.component}: {result.error}")
    if failed:
        raise typer.Exit(EXIT_CLUSTER)


def _short(digest: str | None) -> str:
    return digest.removeprefix("sha256:")[:12] if digest else "-"


def _progress(result: PullResult) -> None:
    where = f"{result.experiment}/{result.component}"
    if result.status == "pulling":
        ui.info(f"pulling {result.chart} ({where}) ...")
    elif result.status == "pulled":
        ui.info(f"pulled  {result.chart} (sha256:{_short(result.digest)})")
    elif result.status == "cached":
        ui.info(f"cached  {result.chart}")
    elif result.status == "local":
        ui.info(f"local   {result.chart} ({where}): nothing to pull")


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    sources: Annotated[
        list[Path], typer.Argument(help="Chart archives (.tgz) or chart folders.", show_default=False)
    ],
    output: OutputOpt = Format.table,
) -> None:
    """Put charts into the cache under the pins they match (air-gapped use, internal mirrors).

    The name and version in each chart's Chart.yaml must equal a pin of the catalog (the
    experiments and the hub platform); the archive's digest is recorded.
    """
    from illm_lab import catalog
    from illm_lab.charts.importing import import_chart, pins

    root = paths.experiments_dir(settings(ctx).experiments_dir)
    entries, _problems = catalog.load_all(root)
    platform = root.resolve().parent / "platform"
    if platform.is_dir():
        entries += catalog.load_all(platform)[0]
    pinned = pins(entries)
    results = [import_chart(source, pinned) for source in sources]
    show(output, [r.as_dict() for r in results], lambda: ui.table(
        None, ["CHART", "VERSION", "SOURCE", "DIGEST", "PINNED AS"],
        [[r.chart, r.version, str(r.source), r.entries[0].short_digest,
          "; ".join(e.ref.location for e in r.entries)] for r in results]))


@app.command("list")
def list_cmd(output: OutputOpt = Format.table) -> None:
    """List the charts in the cache."""
    from illm_lab.charts import ChartCache

    cache = ChartCache()
    entries = cache.entries()
    def table() -> None:
        ui.table(None, ["CHART", "VERSION", "PINNED FROM", "DIGEST", "SIZE", "STORED", "ORIGIN"], [
            [c.ref.chart, c.ref.version, c.ref.location, c.short_digest, f"{c.size / 1024:.0f} KiB",
             c.pulled_at, c.origin] for c in entries
        ])
        if not entries:
            ui.info(f"no charts in the cache ({cache.root}); `lab charts pull` fills it")

    show(output, [c.as_dict() for c in entries], table)
