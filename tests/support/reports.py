"""Reading the JSON a conduct prints: always a list of reports (docs/reports.md)."""

from __future__ import annotations

import json
from typing import Any


def single(stdout: str) -> dict[str, Any]:
    """The one report of a single-experiment run ({} when nothing was printed)."""
    if not stdout.strip():
        return {}
    data = json.loads(stdout)
    assert isinstance(data, list), f"expected a list of reports, got {type(data).__name__}"
    assert len(data) == 1, f"expected one report, got {len(data)}"
    report = data[0]
    assert isinstance(report, dict)
    return report
