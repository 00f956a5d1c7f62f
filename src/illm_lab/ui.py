"""The only module that prints.

Two rich consoles: stdout for data (tables, YAML, JSON — what a user pipes), stderr for progress,
warnings and errors. Without a TTY rich writes plain lines; `NO_COLOR` is honoured by rich itself;
`--quiet` silences everything on stderr but errors.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


@dataclass
class _State:
    quiet: bool = False
    verbose: bool = False


state = _State()
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def configure(*, quiet: bool = False, verbose: bool = False) -> None:
    state.quiet, state.verbose = quiet, verbose
    # Consoles are created at import time; re-bind the streams so test runners that swap
    # sys.stdout / sys.stderr per invocation are honoured.
    out.file = sys.stdout
    err.file = sys.stderr


def error(message: str) -> None:
    err.print(f"lab: error: {escape(message)}", highlight=False)


def warn(message: str) -> None:
    if not state.quiet:
        err.print(f"lab: warning: {escape(message)}", highlight=False)


def info(message: str) -> None:
    if not state.quiet:
        err.print(escape(message), highlight=False)


def traceback_of(exc: BaseException) -> None:
    """Only with -v; never with local variables (they may hold secrets)."""
    err.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)


def text(data: str) -> None:
    """Raw text to stdout, exactly as given (YAML streams, JSON)."""
    sys.stdout.write(data)
    if data and not data.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()


def json_out(data: Any) -> None:
    text(json.dumps(data, indent=2, sort_keys=False, default=str))


def table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    tbl = Table(title=title, show_lines=False, header_style="bold", title_justify="left")
    for col in columns:
        tbl.add_column(col, overflow="fold")
    for row in rows:
        tbl.add_row(*[escape(c) for c in row])
    out.print(tbl)


def lines(items: list[str]) -> None:
    for item in items:
        out.print(escape(item), highlight=False)


def yaml_out(data: Any) -> None:
    from illm_lab.yamlio import dump

    text(dump(data))


def lint_report(results: list[dict[str, Any]]) -> None:
    """Findings on stderr (errors always, warnings and notes unless --quiet), a verdict per
    experiment on stdout."""
    for res in results:
        for f in res["findings"]:
            line = f"{f['where']}: {f['severity']}: {f['message']}"
            if f["severity"] == "error" or not state.quiet:
                err.print(escape(line), highlight=False)
        errors = sum(f["severity"] == "error" for f in res["findings"])
        verdict = "ok" if res["ok"] else "FAILED"
        out.print(f"{res['experiment']}: {verdict} ({res['objects']} objects, {errors} errors)",
                  highlight=False)
