"""Named steps of a run: each emits started/finished and records its status and duration.

A signal seen by another thread (a `--parallel` worker's stop event) makes the next step refuse
to start, unless this thread is shielded (its teardown runs).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from illm_lab.base import events as ev
from illm_lab.conduct.interrupts import Interrupts
from illm_lab.conduct.report import ConductReport, StepRecord

Emit = Callable[[ev.Event], None]


class Steps:
    """Runs named steps: emits started/finished, records status and duration in the report."""

    def __init__(self, report: ConductReport, emit: Emit, guard: Interrupts) -> None:
        self.report = report
        self.emit = emit
        self.guard = guard

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[StepRecord]:
        if self.guard.stop.is_set() and not self.guard.shielded:
            raise KeyboardInterrupt  # a signal seen by another thread: start no new step
        record = StepRecord(name)
        self.report.steps.append(record)
        self.emit(ev.Event(ev.STEP_STARTED, self.report.experiment, {"step": name}))
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
            record.message = str(exc)[:300]
            raise
        finally:
            record.seconds = time.monotonic() - started
            self.emit(
                ev.Event(
                    ev.STEP_FINISHED,
                    self.report.experiment,
                    {
                        "step": name,
                        "status": record.status,
                        "seconds": round(record.seconds, 3),
                        "message": record.message,
                    },
                )
            )
