"""The one place that turns errors into a line on stderr and an exit code.

Every command runs inside `LabGroup.invoke`, so the mapping holds for the console script,
`python -m illm_lab` and `typer.testing.CliRunner` alike. A traceback is printed only with `-v`,
and never with local variables (they may hold secrets).
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from illm_lab import ui
from illm_lab.base.errors import EXIT_CLUSTER, EXIT_INTERRUPTED, LabError

# The root options every command accepts after its name too (`lab render hello-app -v`):
# flags, and options that take a value.
GLOBAL_FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet"})
GLOBAL_VALUED = frozenset({"--experiments-dir", "--config"})


def hoist_global_options(args: list[str]) -> list[str]:
    """Move the root options found after the command name in front of it, so click parses them
    where they are declared. Stops at `--`; values of other options are never looked at as
    options (`--set x=-v` stays)."""
    head: list[str] = []
    rest: list[str] = []
    seen_command = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if not seen_command:
            head.append(arg)
            if arg in GLOBAL_VALUED and i + 1 < len(args):
                head.append(args[i + 1])
                i += 1
            elif not arg.startswith("-"):
                seen_command = True
                rest, head = head[-1:], head[:-1]
        elif arg in GLOBAL_FLAGS:
            head.append(arg)
        elif arg in GLOBAL_VALUED and i + 1 < len(args):
            head += [arg, args[i + 1]]
            i += 1
        elif arg.split("=", 1)[0] in GLOBAL_VALUED and "=" in arg:
            head.append(arg)
        else:
            rest.append(arg)
        i += 1
    return head + rest


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for `-o json` (in any of click's spellings)."""
    for i, arg in enumerate(args):
        if arg == "--":
            return False
        if arg in ("-o", "--output") and i + 1 < len(args) and args[i + 1] == "json":
            return True
        if arg in ("-ojson", "--output=json"):
            return True
    return False


class LabGroup(TyperGroup):
    """Root command group that maps LabError and Ctrl-C to exit codes in one place.

    It also prints the help on stdout (exit 0) for a bare `lab`, accepts the root options after
    the command name, and lists the commands in panels (`rich_help_panel`) in the plain help."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if not args and not ctx.resilient_parsing:
            typer.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        args = hoist_global_options(list(args))
        ctx.meta["lab.json"] = wants_json(args)
        return super().parse_args(ctx, args)

    # panel -> its commands in the order shown; set by cli/main.py. Other panels follow, then
    # "Commands" for whatever has no panel.
    panel_order: dict[str, list[str]] = {}

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        panels: dict[str, list[tuple[str, str]]] = {p: [] for p in self.panel_order}
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            panel = getattr(cmd, "rich_help_panel", None) or "Commands"
            panels.setdefault(panel, []).append((name, cmd.get_short_help_str(limit=formatter.width - 24)))
        panels["Commands"] = panels.pop("Commands", [])
        for panel, rows in panels.items():
            if not rows:
                continue
            order = self.panel_order.get(panel, [])
            rows.sort(key=lambda row: order.index(row[0]) if row[0] in order else len(order))
            with formatter.section(panel):
                formatter.write_dl(rows)

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        json_errors = bool(ctx.meta.get("lab.json"))
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except LabError as exc:
            if ui.state.verbose:
                ui.traceback_of(exc)
            ui.error(str(exc))
            if ui.state.verbose and exc.detail:
                ui.detail(exc.detail)
            if json_errors:
                ui.json_error(exc.message, exc.where, exc.exit_code)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            ui.error("interrupted")
            if json_errors:
                ui.json_error("interrupted", None, EXIT_INTERRUPTED)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # a bug: still one line, traceback with -v
            if ui.state.verbose:
                ui.traceback_of(exc)
            message = (f"internal error: {type(exc).__name__}: {str(exc)[:300]} "
                       "(run with -v for the traceback and please report it)")
            ui.error(message)
            if json_errors:
                ui.json_error(message, None, EXIT_CLUSTER)
            raise typer.Exit(EXIT_CLUSTER) from None
