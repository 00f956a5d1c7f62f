"""Named steps of a hub command, as events (the same stream a conduct emits), so the terminal view
shows a spinner with the current step and its elapsed time, and `--events FILE` can record it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from illm_lab.base import events as ev

EXPERIMENT = "hub"
Emit = Callable[[ev.Event], None]


@dataclass
class Step:
    name: str
    status: str = "running"
    seconds: float = 0.0
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "durationSeconds": round(self.seconds, 3),
                "message": self.message}


@dataclass
class Steps:
    emit: Emit
    done: list[Step] = field(default_factory=list)

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[Step]:
        step = Step(name)
        self.done.append(step)
        self.emit(ev.Event(ev.STEP_STARTED, EXPERIMENT, {"step": name}))
        started = time.monotonic()
        try:
            yield step
            if step.status == "running":
                step.status = "ok"
        except KeyboardInterrupt:
            step.status = "interrupted"
            raise
        except BaseException as exc:
            step.status = "failed"
            step.message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            raise
        finally:
            step.seconds = time.monotonic() - started
            self.emit(ev.Event(ev.STEP_FINISHED, EXPERIMENT, {
                "step": name, "status": step.status, "seconds": round(step.seconds, 3),
                "message": step.message}))

    def note(self, message: str) -> None:
        self.emit(ev.Event(ev.MESSAGE, EXPERIMENT, {"message": message, "notice": True}))

    def finish(self, ok: bool) -> None:
        self.emit(ev.Event(ev.RUN_FINISHED, EXPERIMENT, {"verdict": "passed" if ok else "error"}))
