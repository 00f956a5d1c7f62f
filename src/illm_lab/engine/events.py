"""What the engine reports while it works: plain event records, never printed here.

The CLI hands a callback that lets `ui` render them (progress on stderr); conduct forwards them
into its own event stream. Callbacks may be called from worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass

from illm_lab.base.identity import ObjectRef


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class PhaseStarted(Event):
    cluster: str
    phase: str
    objects: int


@dataclass(frozen=True)
class ObjectApplied(Event):
    ref: ObjectRef
    action: str  # created | configured | unchanged


@dataclass(frozen=True)
class ObjectDeleted(Event):
    ref: ObjectRef
    action: str  # deleted | gone


@dataclass(frozen=True)
class WaitStarted(Event):
    ref: ObjectRef
    what: str


@dataclass(frozen=True)
class WaitDone(Event):
    ref: ObjectRef
    seconds: float


@dataclass(frozen=True)
class Note(Event):
    message: str
