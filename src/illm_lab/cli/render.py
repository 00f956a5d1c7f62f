"""`lab render` and `lab lint`: everything that can be known about an experiment offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from illm_lab import ui
from illm_lab.base import paths
from illm_lab.base.errors import EXIT_FAILED
from illm_lab.cli.options import (
    Format,
    OutputOpt,
    SetOpt,
    ValuesOpt,
    complete_experiment,
    settings,
    show,
)


def register(app: typer.Typer) -> None:
    app.command("render")(render_cmd)
    app.command("lint")(lint_cmd)


def render_cmd(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="Experiment name.", autocompletion=complete_experiment)],
    set_: SetOpt = None,
    values: ValuesOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write one file per component into this folder.")
    ] = None,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print Secret data instead of ***.")
    ] = False,
) -> None:
    """Render an experiment's manifests (and Helm values) to YAML, without a cluster.

    Examples:

    \b
      lab render hello-app
      lab render hello-app --set replicas=3 --out /tmp/hello
    """
    from illm_lab import catalog
    from illm_lab.rendering import output, render

    ready = catalog.prepare(catalog.find(paths.experiments_dir(settings(ctx).experiments_dir), experiment),
                            values, set_)
    rendering = render.render(ready.entry, ready.params)
    if out is None:
        ui.text(output.render_stream(rendering, show_secrets=show_secrets))
    else:
        written = output.write_rendering(rendering, out, show_secrets=show_secrets)
        ui.info(f"wrote {len(written)} files to {out}")


def lint_cmd(
    ctx: typer.Context,
    experiments: Annotated[
        list[str] | None, typer.Argument(help="Experiments to lint [default: all].",
                autocompletion=complete_experiment)
    ] = None,
    kube_version: Annotated[
        str, typer.Option("--kube-version", help="Kubernetes version to validate objects against.")
    ] = "1.31",
    set_: SetOpt = None,
    values: ValuesOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """Check manifests, templates and rendered objects; exit 1 on any error finding.

    --set and --values lint the rendering conduct would deploy with them (for every
    experiment named).

    Examples:

    \b
      lab lint
      lab lint hello-app --kube-version 1.30 -o json
      lab lint hello-app --set replicas=3 --values my-values.yaml
    """
    from illm_lab import catalog
    from illm_lab.authoring import lint
    from illm_lab.base import paths

    lint.check_kube_version(kube_version)
    root = paths.experiments_dir(settings(ctx).experiments_dir)
    folders = catalog.discover(root)
    if experiments:
        known = {f.name: f for f in folders}
        for name in experiments:
            if name not in known:
                catalog.find(root, name)  # raises the unknown-experiment error with hints
        folders = [known[n] for n in experiments]
    results = [lint.lint_folder(f, kube_version, values_files=values, sets=set_) for f in folders]
    show(output, [r.as_dict() for r in results], lambda: ui.lint_report(results))
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_FAILED)
