"""The conduct pipeline's event stream.

Core code never prints: it emits events, and whoever runs it decides what they mean — the live
terminal view (`ui`), the `--events FILE` JSON-lines writer, and the reporters all consume the
same stream. Tests synchronise on it too (e.g. deliver SIGINT when `step.started deploy` is seen).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from illm_lab.base.errors import UsageError

RUN_STARTED = "run.started"
STEP_STARTED = "step.started"
STEP_FINISHED = "step.finished"
OBJECT_APPLIED = "object.applied"
OBJECT_DELETED = "object.deleted"
CLUSTER_READY = "cluster.ready"
CHECK_FINISHED = "check.finished"
MESSAGE = "message"
RUN_FINISHED = "run.finished"
# A tutorial session (between the checks and the teardown); never carries credentials.
TUTORIAL_STARTED = "tutorial.started"
CHECKPOINT_STARTED = "checkpoint.started"
CHECKPOINT_FINISHED = "checkpoint.finished"
TUTORIAL_FINISHED = "tutorial.finished"


@dataclass(frozen=True)
class Event:
    kind: str
    experiment: str
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "experiment": self.experiment, "time": round(self.at, 3), **self.data}


Emit = Callable[[Event], None]
"""Where a run sends its events: a view, a file, a collector (may be called from worker threads)."""


class Fanout:
    """Delivers each event to every sink, in order, from any thread."""

    def __init__(self, *sinks: Emit) -> None:
        self.sinks = list(sinks)
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            for sink in self.sinks:
                sink(event)


class JsonLines:
    """`--events FILE`: one JSON object per line, flushed at once so a reader can follow it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise UsageError(f"--events {path}: cannot write: {exc.strerror or type(exc).__name__}") from None
        if os.path.isfile(path):
            os.fchmod(fd, 0o600)  # an existing file keeps its mode on open: make it private too
        self._fh: IO[str] = os.fdopen(fd, "w", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        self._fh.write(json.dumps(event.as_dict(), default=str) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class EventCollector:
    """Keeps every event (for reporters and tests)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
