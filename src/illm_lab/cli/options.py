"""Options shared by several commands, declared once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

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
