"""The one error tree of illm-lab.

Every failure a user can cause or meet is a `LabError`; each subclass carries the exit code it
maps to, so the single handler in `cli/handler.py` never guesses. Third-party exceptions are
converted into these inside the adapter that called the library (see `kube/errors.py`,
`tools/run.py`), so nothing above the adapters ever sees an `ApiException` or an `sh` error.

Exit codes: 0 ok · 1 checks failed or lint findings · 2 bad input or usage · 3 cluster, tool or
disk failure · 130 interrupted.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CLUSTER = 3
EXIT_INTERRUPTED = 130


class LabError(Exception):
    """Root of every error `lab` reports as one line."""

    exit_code = EXIT_CLUSTER

    def __init__(self, message: str, *, where: str | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.detail = detail  # what only `-v` shows: a full command line, a tool's whole stderr

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class InputError(LabError):
    """Bad input: a manifest, a values file, a template, a flag, a config file."""

    exit_code = EXIT_BAD_INPUT


class ManifestError(InputError):
    """An experiment manifest that cannot be read or does not validate."""


class TemplateError(InputError):
    """A Jinja2 template that fails to render (undefined variable, sandbox violation, ...)."""


class UsageError(InputError):
    """A command line that makes no sense (unknown experiment, conflicting flags, ...)."""


class ConfigError(InputError):
    """A malformed lab config file or kubeconfig."""


class ClusterError(LabError):
    """The cluster refused or could not be reached."""

    exit_code = EXIT_CLUSTER


class ToolError(LabError):
    """An external tool (helm, talosctl, kind, ...) is missing, failed or timed out."""

    exit_code = EXIT_CLUSTER


class StorageError(LabError):
    """A file lab keeps cannot be written: a full disk, a read-only file system, no permission."""

    exit_code = EXIT_CLUSTER


class CheckFailed(LabError):
    """One or more validation checks failed."""

    exit_code = EXIT_FAILED


class Interrupted(LabError):
    """The user pressed Ctrl-C or the process received SIGTERM."""

    exit_code = EXIT_INTERRUPTED


def worst_exit_code(codes: list[int]) -> int:
    """Combine exit codes of several experiments: 130 overrides all, then 3 > 2 > 1 > 0."""
    if EXIT_INTERRUPTED in codes:
        return EXIT_INTERRUPTED
    return max(codes, default=EXIT_OK)
