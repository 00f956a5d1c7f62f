"""Options shared by several commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer


@dataclass
class Settings:
    verbose: bool = False
    quiet: bool = False
    experiments_dir: Path | None = None


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings()


class Format(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


OutputOpt = Annotated[Format, typer.Option("--output", "-o", help="Output format.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a param: key=value (dotted keys reach into objects)."),
]
# -- cluster options: where an experiment runs -------------------------------------------------
KubeconfigOpt = Annotated[
    Path | None, typer.Option("--kubeconfig", help="Kubeconfig file [default: $KUBECONFIG].")
]
ContextOpt = Annotated[
    str | None, typer.Option("--context", help="Kubeconfig context for every cluster role.")
]
TargetContextOpt = Annotated[
    str | None, typer.Option("--target-context", help="Context of the target cluster (wins over --context).")
]
LoadgenContextOpt = Annotated[
    str | None, typer.Option("--loadgen-context", help="Context of the loadgen cluster.")
]
HubContextOpt = Annotated[str | None, typer.Option("--hub-context", help="Context of the hub cluster.")]
InstanceOpt = Annotated[
    str | None,
    typer.Option("--instance", help="Name a second deployed copy of the experiment [default: none]."),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force-conflicts", help="Take over fields another field manager owns."),
]

# -- report options: what a run leaves behind ---------------------------------------------------
EventsOpt = Annotated[Path | None, typer.Option("--events", help="Write the event stream as JSON lines.")]
JunitOpt = Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report.")]

ValuesOpt = Annotated[
    list[Path] | None,
    typer.Option("--values", "-f", help="YAML file of param values (repeatable)."),
]


def show(output: Format, data: Any, table: Callable[[], None]) -> None:
    """The one place a command's result leaves: `table()` for people, the same data as JSON or
    YAML for tools (both formats always get the same shape)."""
    from illm_lab import ui

    if output is Format.json:
        ui.json_out(data)
    elif output is Format.yaml:
        ui.yaml_out(data)
    else:
        table()
