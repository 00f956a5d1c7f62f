"""What a foreground session gets from the conduct pipeline: the live run between the checks and
the teardown (today: a tutorial session, `illm_lab.tutorial.session`).

The pipeline owns everything in here — clusters, ledger run, port-forwards — and closes or tears
it down after the session returns, raises or is interrupted; a session only uses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from illm_lab.base import events as ev
from illm_lab.catalog import Entry
from illm_lab.checks.result import CheckResult
from illm_lab.rendering.render import Rendering

if TYPE_CHECKING:
    from illm_lab.conduct.checking import CheckSession
    from illm_lab.conduct.forwards import Forwards
    from illm_lab.config.selection import Target
    from illm_lab.engine.inventory import Inventory
    from illm_lab.kube import Cluster
    from illm_lab.ledger import Run


@dataclass
class LiveRun:
    entry: Entry
    rendering: Rendering
    params: dict[str, Any]
    run: Run
    inventory: Inventory
    clusters: dict[str, Cluster]
    targets: dict[str, Target]
    checks: CheckSession
    forwards: Forwards
    emit: ev.Emit
    stop: threading.Event
    keep: bool
    check_timeout: float | None = None


@dataclass
class SessionOutcome:
    """Results for the report (one per checkpoint check) and a one-line summary for the step."""

    results: list[CheckResult] = field(default_factory=list)
    message: str = ""


Session = Callable[[LiveRun], SessionOutcome]
