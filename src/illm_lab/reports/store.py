"""The reports of past conducts, kept so `lab report` can show a run again.

Layout: `<state dir>/reports/<run id>.json` (0600, in a 0700 folder), next to the run ledger's
`<state dir>/runs/<run id>.json`. Each file is the conduct report exactly as `lab conduct -o
json` prints it (docs/reports.md); params are already masked there. A report is written once,
when its conduct finishes, atomically (a temporary file renamed over the final name).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from illm_lab.base.errors import ConfigError, InputError, UsageError
from illm_lab.base.files import read_text, write_atomic
from illm_lab.base.paths import ensure_private_dir, state_dir
from illm_lab.reports.conduct import ConductReport

FOLDER = "reports"
MAX_REPORT_BYTES = 64 * 1024 * 1024  # a report of thousands of objects and checks
_RUN_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,200}$")  # = the ledger's run ids


def reports_dir(root: Path | None = None) -> Path:
    return (root or state_dir()) / FOLDER


def save(report: dict[str, Any], root: Path | None = None) -> Path | None:
    """Keep `report` under its run id; a report without one (a dry run, a run refused before
    the ledger opened) is not kept."""
    run_id = report.get("run")
    if not run_id or not _RUN_ID.match(str(run_id)):
        return None
    folder = ensure_private_dir(reports_dir(root))
    path = folder / f"{run_id}.json"
    write_atomic(path, json.dumps(report, indent=1, default=str) + "\n")  # 0600
    return path


def load(ref: str, root: Path | None = None) -> dict[str, Any]:
    """The report of run `ref`, or else the latest report of experiment `ref`."""
    folder = reports_dir(root)
    if not _RUN_ID.match(ref):
        raise UsageError(f"{ref[:80]!r}: neither a run id nor an experiment name (see lab status)")
    exact = folder / f"{ref}.json"
    if exact.is_file():
        return _read(exact)
    latest: dict[str, Any] | None = None
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            report = _read(path)
        except ConfigError:
            continue  # one damaged report never hides the others
        if report.get("experiment") == ref and (
            latest is None or str(report.get("startedAt", "")) >= str(latest.get("startedAt", ""))
        ):
            latest = report
    if latest is None:
        raise UsageError(
            f"no report of a run or experiment named {ref!r} in {folder} "
            "(reports are kept when `lab conduct` finishes; `lab status` lists the runs)"
        )
    return latest


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_text(path, what="report", max_bytes=MAX_REPORT_BYTES))
    except InputError as exc:
        raise ConfigError(exc.message, where=str(path)) from None
    except ValueError as exc:
        raise ConfigError(f"unreadable report ({type(exc).__name__})", where=str(path)) from None
    if not isinstance(data, dict) or "experiment" not in data or "checks" not in data:
        raise ConfigError("not a conduct report", where=str(path))
    try:
        ConductReport.from_dict(data)  # what `lab report` shows is read through the type
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"not a conduct report ({type(exc).__name__})", where=str(path)) from None
    return data
