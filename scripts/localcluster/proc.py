"""Subprocess helpers: argument lists only, failures carry the command, exit code and output."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class ClusterError(RuntimeError):
    """Any failure of the local cluster tooling, with a message meant for a person."""


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays machine-readable (the JSON line of `up`)."""
    print(f"local-cluster: {message}", file=sys.stderr, flush=True)


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise ClusterError quoting the command and its output."""
    args = [str(a) for a in argv]
    full_env = None if env is None else {**os.environ, **env}
    try:
        result = subprocess.run(
            args,
            cwd=cwd,
            env=full_env,
            text=True,
            input=input_text,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ClusterError(f"command not found: {args[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"timed out after {timeout}s: {shlex.join(args)}") from exc
    if check and result.returncode != 0:
        output = (result.stdout or "").strip()
        indented = "\n".join("    " + line for line in output.splitlines()[-40:])
        raise ClusterError(
            f"command failed with exit code {result.returncode}: {shlex.join(args)}"
            + (f"\n{indented}" if indented else "")
        )
    return result


def wait_until(
    what: str,
    probe: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.1,
    alive: Callable[[], str | None] | None = None,
) -> None:
    """Bounded poll for a process-level condition (socket, port, HTTP endpoint).

    Only for start-up of local processes, which have no watch API; `alive` returns an error
    message when the process being waited for has died, so a crash fails fast instead of
    running into the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        if probe():
            return
        if alive is not None:
            problem = alive()
            if problem:
                raise ClusterError(f"while waiting for {what}: {problem}")
        if time.monotonic() >= deadline:
            raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
