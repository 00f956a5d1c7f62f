"""`lab kubeconfig <exp>`: where the kubeconfig of a cluster lab created is."""

from __future__ import annotations

from typing import Annotated

import typer

from illm_lab import ui
from illm_lab.cli.options import InstanceOpt


def register(app: typer.Typer) -> None:
    app.command("kubeconfig")(kubeconfig_cmd)


def kubeconfig_cmd(
    experiment: Annotated[str, typer.Argument(help="Experiment name, or `hub` for the hub cluster.")],
    role: Annotated[str, typer.Option("--role", help="Cluster role: target, loadgen or hub.")] = "target",
    instance: InstanceOpt = None,
    export: Annotated[
        bool, typer.Option("--export", help="Print `export KUBECONFIG=...` for eval in a shell.")
    ] = False,
) -> None:
    """Print the path of the kubeconfig lab wrote for an experiment's cluster (never its content)."""
    import shlex

    from illm_lab.base.errors import UsageError
    from illm_lab.clusters.lookup import find

    if role not in ("target", "loadgen", "hub"):
        raise UsageError(f"--role {role[:40]!r}: one of target, loadgen, hub")
    found = find(experiment, role, instance)
    if export:
        ui.text(f"export KUBECONFIG={shlex.quote(str(found.path))}")
    else:
        ui.text(str(found.path))
    if found.context:
        ui.info(f"context {found.context} of cluster {found.name} ({found.provider or 'unknown provider'})")
