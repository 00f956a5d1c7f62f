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


# -- shell completion: cheap, never raises (a broken catalog completes nothing) -------------------
def _root_experiments_dir(ctx: typer.Context) -> Path:
    from illm_lab.base import paths

    return paths.experiments_dir(ctx.find_root().params.get("experiments_dir"))


def complete_experiment(ctx: typer.Context, incomplete: str) -> list[str]:
    """Experiment names, from the catalog index (`lab list`'s cache)."""
    try:
        from illm_lab.catalog import index

        found, _ = index.summaries(_root_experiments_dir(ctx))
    except Exception:
        return []
    return sorted(s["name"] for s in found if s["name"].startswith(incomplete))


def complete_phase(ctx: typer.Context, incomplete: str) -> list[str]:
    """The phases the catalog's experiments belong to."""
    try:
        from illm_lab.catalog import index

        found, _ = index.summaries(_root_experiments_dir(ctx))
    except Exception:
        return []
    return sorted({str(s["phase"]) for s in found if str(s["phase"]).startswith(incomplete)})


def complete_set(ctx: typer.Context, incomplete: str) -> list[str]:
    """`key=` for each param of the experiment named on the command line."""
    name = ctx.params.get("experiment") or next(iter(ctx.params.get("experiments") or []), None)
    if not name:
        return []
    try:
        from illm_lab import catalog

        entry = catalog.find(_root_experiments_dir(ctx), str(name))
        keys = list(entry.experiment.spec.params)
    except Exception:
        return []
    return [f"{k}=" for k in sorted(keys) if f"{k}=".startswith(incomplete)]


def complete_context(ctx: typer.Context, incomplete: str) -> list[str]:
    """The contexts of the kubeconfig (`--kubeconfig`, else $KUBECONFIG, else ~/.kube/config),
    read as YAML: no cluster client is loaded to complete a word."""
    import os

    given = ctx.params.get("kubeconfig")
    files = [Path(given)] if given else [
        Path(p) for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p
    ] or [Path.home() / ".kube" / "config"]
    names: set[str] = set()
    for file in files:
        try:
            from illm_lab.base import yamlio

            data = yamlio.load_file(file, what="kubeconfig").data
            names |= {str(c["name"]) for c in (data or {}).get("contexts") or [] if c.get("name")}
        except Exception:  # noqa: S112 - an unreadable kubeconfig completes nothing
            continue
    return sorted(n for n in names if n.startswith(incomplete))


ExperimentArg = Annotated[
    str, typer.Argument(help="Experiment name.", autocompletion=complete_experiment)
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override a param: key=value (dotted keys reach into objects).",
        autocompletion=complete_set,
    ),
]
# -- cluster options: where an experiment runs -------------------------------------------------
KubeconfigOpt = Annotated[
    Path | None, typer.Option("--kubeconfig", help="Kubeconfig file [default: $KUBECONFIG].")
]
ContextOpt = Annotated[
    str | None,
    typer.Option("--context", help="Kubeconfig context for every cluster role.",
                 autocompletion=complete_context),
]
TargetContextOpt = Annotated[
    str | None,
    typer.Option("--target-context", help="Context of the target cluster (wins over --context).",
                 autocompletion=complete_context),
]
LoadgenContextOpt = Annotated[
    str | None,
    typer.Option("--loadgen-context", help="Context of the loadgen cluster.",
            autocompletion=complete_context),
]
HubContextOpt = Annotated[
    str | None,
    typer.Option("--hub-context", help="Context of the hub cluster.", autocompletion=complete_context),
]
InstanceOpt = Annotated[
    str | None,
    typer.Option("--instance", help="Name a second deployed copy of the experiment [default: none]."),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force-conflicts", help="Take over fields another field manager owns."),
]

AllowCommandsOpt = Annotated[
    bool,
    typer.Option("--allow-commands",
                 help="Let command checks run their local programs (with your rights)."),
]

# -- report options: what a run leaves behind ---------------------------------------------------
EventsOpt = Annotated[
    Path | None, typer.Option("--events", help="Write the event stream as JSON lines (- for stdout).")
]
JunitOpt = Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report (- for stdout).")]

ValuesOpt = Annotated[
    list[Path] | None,
    typer.Option("--values", "-f", help="YAML file of param values (repeatable)."),
]


def show(output: Format, data: Any, table: Callable[[], None]) -> None:
    """The one place a command's result leaves: `table()` for people, the same data as JSON or
    YAML for tools (both formats always get the same shape)."""
    from illm_lab import ui

    data = ui.rfc3339(data)
    if output is Format.json:
        ui.json_out(data)
    elif output is Format.yaml:
        ui.yaml_out(data)
    else:
        table()
