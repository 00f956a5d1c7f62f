"""The one entry point for running an external binary (helm, talosctl, kind, docker, ...).

Every tool call goes through `run()` so that every failure looks the same to the user: the
command that ran (secrets masked), its exit code, and its stderr indented underneath — the way
pre-commit reports a failed hook. `sh` is used without a shell (an argv list is passed straight
to exec), without a pseudo-terminal (tools must not think a human is watching, and a pty mangles
line endings), always with a timeout, and its exceptions never leave this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sh

from illm_lab.base.errors import ToolError

DEFAULT_TIMEOUT = 300.0
MASK = "***"
STDERR_LINES = 40

# Options whose next argument (or `=value`) is a credential, whatever the tool.
_SECRET_FLAGS = frozenset(
    {"--password", "--token", "--client-secret", "--secret", "--api-key", "--access-key",
     "--secret-key", "--key-passphrase", "--auth-token"}
)
_PATTERNS = [
    # key=value / key: value where the key names a credential
    re.compile(
        r"(?i)\b([\w.-]*(?:password|passwd|token|secret|api[-_]?key|access[-_]?key|credentials?)"
        r"[\w.-]*\"?\s*[:=]\s*\"?)([^\s\"',;]+)"
    ),
    # HTTP authorization headers
    re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})"),
    # credentials in URLs: scheme://user:password@host
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)([^/\s@]+)(@)"),
]


class ToolNotFound(ToolError):
    """The binary is not on PATH (or not executable)."""


class ToolFailed(ToolError):
    """The binary ran and exited non-zero (or was killed by a signal)."""

    def __init__(self, message: str, *, exit_code: int, stderr: str, stdout: str = "") -> None:
        super().__init__(message)
        self.tool_exit_code = exit_code
        self.stderr = stderr
        self.stdout = stdout

    @property
    def reason(self) -> str:
        """The tool's own one-line reason: its first `Error:` line, else its last line."""
        lines = [ln.strip() for ln in self.stderr.splitlines() if ln.strip()]
        for line in lines:
            if line.lower().startswith("error:"):
                return line[len("error:"):].strip()
        return lines[-1] if lines else f"exit code {self.tool_exit_code}, no output on stderr"


class ToolTimeout(ToolError):
    """The binary did not finish within its timeout and was killed."""


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` with every known secret value and every obvious credential pattern masked."""
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _PATTERNS[0].sub(lambda m: m.group(1) + MASK, text)
    text = _PATTERNS[1].sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return _PATTERNS[2].sub(lambda m: m.group(1) + MASK + m.group(3), text)


def display_command(argv: Sequence[str], secrets: Sequence[str] = ()) -> str:
    """The command line as a user could retype it, with credential arguments masked."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append(MASK)
            hide_next = False
            continue
        flag, eq, _value = arg.partition("=")
        if flag in _SECRET_FLAGS:
            if eq:
                shown.append(f"{flag}={MASK}")
            else:
                shown.append(arg)
                hide_next = True
            continue
        shown.append(redact(_quote(arg), secrets))
    return " ".join(shown)


def _quote(arg: str) -> str:
    if arg and re.fullmatch(r"[\w@%+=:,./~-]+", arg):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def indent(text: str, limit: int = STDERR_LINES) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) > limit:
        lines = [f"... ({len(lines) - limit} earlier lines omitted)", *lines[-limit:]]
    return "\n".join(f"    {line}" for line in lines)


def run(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
    secrets: Sequence[str] = (),
    hint: str | None = None,
) -> Result:
    """Run `argv` (no shell) and return its output; raise a ToolError on any failure.

    `env` is added to the current environment (it does not replace it). `secrets` are values to
    mask wherever the command or its output is shown; common credential patterns are masked
    anyway. `hint` is appended when the binary is missing (e.g. where to get it).
    """
    if not argv:
        raise ValueError("run() needs a command")
    name, *args = [str(a) for a in argv]
    full_env = {**os.environ, **(env or {})}
    search = full_env.get("PATH", os.defpath).split(os.pathsep)
    shown = display_command([name, *args], secrets)
    try:
        command = sh.Command(name, search_paths=search)
    except sh.CommandNotFound:
        extra = f"; {hint}" if hint else ""
        raise ToolNotFound(f"{name}: command not found on PATH{extra}") from None
    try:
        proc = command(
            *args,
            _env=full_env,
            _cwd=str(cwd) if cwd else None,
            _in=stdin,
            _timeout=timeout,
            _tty_out=False,
            _tty_in=False,
            _out_bufsize=64 * 1024,
            _err_bufsize=64 * 1024,
            _decode_errors="replace",
            _return_cmd=True,
        )
    except sh.TimeoutException:
        raise ToolTimeout(f"{shown} did not finish within {timeout:g}s and was stopped") from None
    except sh.ErrorReturnCode as exc:
        stderr = redact(_text(exc.stderr), secrets)
        code = int(exc.exit_code)
        status = f"was killed by signal {-code}" if code < 0 else f"failed with exit code {code}"
        detail = indent(stderr) if stderr.strip() else "    (no output on stderr)"
        raise ToolFailed(f"{shown} {status}:\n{detail}", exit_code=code, stderr=stderr,
                         stdout=redact(_text(exc.stdout), secrets)) from None
    except sh.ForkException as exc:
        raise ToolFailed(f"{shown} could not be started: {str(exc).strip()[:300]}",
                         exit_code=-1, stderr="") from None
    except OSError as exc:  # exec failed: not executable, bad interpreter, ...
        raise ToolFailed(f"{shown} could not be started: {exc.strerror}",
                         exit_code=-1, stderr="") from None
    return Result(
        argv=(name, *args),
        exit_code=int(proc.exit_code or 0),
        stdout=_text(proc.stdout),
        stderr=_text(proc.stderr),
    )


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data
