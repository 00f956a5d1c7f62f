"""Named steps of a run, as events: one runner for a conduct and for the hub commands.

Each step emits `step.started` and `step.finished` (status, seconds, message) into the run's
event stream, so the terminal view shows the current step and `--events FILE` records it, and
appends a `StepRecord` to the list the caller keeps (the conduct report, the hub result). A run
may pass `stop`: while it says so, no new step starts (a signal seen by another thread).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from illm_lab.base import events as ev


@dataclass
class StepRecord:
    name: str
    status: str = "running"  # running | ok | failed | skipped | interrupted
    seconds: float = 0.0
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "durationSeconds": round(self.seconds, 3),
                "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(str(data["name"]), str(data.get("status") or "running"),
                   float(data.get("durationSeconds") or 0.0), str(data.get("message") or ""))


class Steps:
    def __init__(self, emit: ev.Emit, experiment: str, records: list[StepRecord] | None = None,
                 stop: Callable[[], bool] | None = None) -> None:
        self.emit = emit
        self.experiment = experiment
        self.records: list[StepRecord] = records if records is not None else []
        self._stop = stop

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[StepRecord]:
        if self._stop is not None and self._stop():
            raise KeyboardInterrupt  # a signal seen by another thread: start no new step
        record = StepRecord(name)
        self.records.append(record)
        self.emit(ev.Event(ev.STEP_STARTED, self.experiment, {"step": name}))
        started = time.monotonic()
        try:
            yield record
            if record.status == "running":
                record.status = "ok"
        except KeyboardInterrupt:
            record.status = "interrupted"
            raise
        except BaseException as exc:
            record.status = "failed"
            record.message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            raise
        finally:
            record.seconds = time.monotonic() - started
            self.emit(ev.Event(ev.STEP_FINISHED, self.experiment, {
                "step": name, "status": record.status, "seconds": round(record.seconds, 3),
                "message": record.message}))

    def note(self, message: str) -> None:
        self.emit(ev.Event(ev.MESSAGE, self.experiment, {"message": message, "notice": True}))

    def finish(self, ok: bool) -> None:
        self.emit(ev.Event(ev.RUN_FINISHED, self.experiment, {"verdict": "passed" if ok else "error"}))
