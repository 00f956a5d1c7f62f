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


class LabGroup(TyperGroup):
    """Root command group that maps LabError and Ctrl-C to exit codes in one place."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
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
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            ui.error("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # a bug: still one line, traceback with -v
            if ui.state.verbose:
                ui.traceback_of(exc)
            ui.error(
                f"internal error: {type(exc).__name__}: {str(exc)[:300]} "
                "(run with -v for the traceback and please report it)"
            )
            raise typer.Exit(EXIT_CLUSTER) from None
