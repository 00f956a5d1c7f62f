"""The consoles and the primitives every view prints with.

Two rich consoles: stdout for data (tables, YAML, JSON — what a user pipes), stderr for progress,
warnings and errors. Without a TTY rich writes plain lines and tables are plain aligned columns;
`NO_COLOR` means no ANSI at all; `--quiet` silences everything on stderr but errors. The consoles
are created on first use, so a command whose output is piped (`lab list | ...`) never loads
rich's console machinery (docs/benchmarks.md, P1). User data is printed escaped and with emoji
codes off: a `file:100:` location stays text.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def escape(markup: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(markup)


class _LazyConsole:
    """A rich Console made on first use, bound to the current sys.stdout / sys.stderr."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _get(self) -> Console:
        if self._console is None:
            import os

            from rich.console import Console

            # NO_COLOR: no ANSI at all (rich alone would drop colours but keep bold).
            plain: dict[str, Any] = {"color_system": None} if os.environ.get("NO_COLOR") else {}
            self._console = Console(stderr=self._stderr, soft_wrap=True, highlight=False, emoji=False,
                                    **plain)
        return self._console

    def rebind(self) -> None:
        if self._console is not None:
            self._console.file = sys.stderr if self._stderr else sys.stdout

    @property
    def is_terminal(self) -> bool:
        stream = sys.stderr if self._stderr else sys.stdout
        return self._get().is_terminal if self._console is not None else stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


@dataclass
class _State:
    quiet: bool = False
    verbose: bool = False


state = _State()
out = _LazyConsole(stderr=False)
err = _LazyConsole(stderr=True)


def configure(*, quiet: bool = False, verbose: bool = False) -> None:
    state.quiet, state.verbose = quiet, verbose
    # Re-bind the streams so test runners that swap sys.stdout / sys.stderr per invocation are
    # honoured by consoles made earlier in the same process.
    out.rebind()
    err.rebind()


def error(message: str) -> None:
    err.print(f"lab: error: {escape(message)}", highlight=False)


def detail(text: str) -> None:
    """What only -v shows under an error: a tool's full command line and output."""
    err.print(text, markup=False, highlight=False)


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


_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|\+00:00)")


def rfc3339(data: Any) -> Any:
    """Every timestamp in `data` in the one format lab shows: RFC 3339, UTC, seconds, `Z`
    (`2026-12-03T08:39:24Z`), whichever of the ISO forms the core wrote (`+00:00`, fractions)."""
    if isinstance(data, str):
        match = _STAMP.fullmatch(data)
        return f"{match.group(1)}Z" if match else data
    if isinstance(data, dict):
        return {k: rfc3339(v) for k, v in data.items()}
    if isinstance(data, list):
        return [rfc3339(v) for v in data]
    return data


def json_out(data: Any) -> None:
    text(json.dumps(data, indent=2, sort_keys=False, default=str))


def json_error(message: str, where: str | None, exit_code: int) -> None:
    """The error of a command run with `-o json`, as JSON on stdout (the message is on stderr too)."""
    json_out({"error": {"message": message, "where": where, "exitCode": exit_code}})


def table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; plain aligned columns otherwise (pipes, CI logs, scripts)."""
    if not out.is_terminal:
        _plain_table(title, columns, rows)
        return
    from rich.table import Table

    tbl = Table(title=title, show_lines=False, header_style="bold", title_justify="left")
    for i, col in enumerate(columns):
        # Names never wrap mid-word: the first column and the name columns stay whole; the rest
        # wrap at word boundaries (fold only breaks a word longer than the column).
        whole = i == 0 or col in _NAME_COLUMNS
        tbl.add_column(col, no_wrap=whole, overflow="ellipsis" if whole else "fold")
    for row in rows:
        tbl.add_row(*[escape(c) for c in row])
    out.print(tbl)


_NAME_COLUMNS = frozenset({"NAME", "EXPERIMENT", "RUN", "CHECK", "COMPONENT", "CHECKPOINT", "SERIES"})


def _cell(value: Any) -> str:
    """A value as people read it: `-` for none, lists joined, never a Python repr."""
    if value is None or value == "":
        return "-"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _plain_table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    cells = [[" ".join(str(c).split()) for c in row] for row in [columns, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines_ = [title] if title else []
    lines_ += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    text("\n".join(lines_))


def lines(items: list[str]) -> None:
    for item in items:
        out.print(escape(item), highlight=False)


def yaml_out(data: Any) -> None:
    import yaml

    from illm_lab.base import yamlio

    # yamlio's dumper, with Unicode kept as characters ("—", not "\\u2014").
    text(yaml.dump(data, Dumper=yamlio._Dumper, sort_keys=False, default_flow_style=False, width=100,
                   allow_unicode=True))

