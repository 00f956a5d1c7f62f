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
