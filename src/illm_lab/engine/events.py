"""What the engine reports while it works: plain event records, never printed here.

The CLI hands a callback that lets `ui` render them (progress on stderr); conduct forwards them
into its own event stream. Callbacks may be called from worker threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from illm_lab.base.identity import ObjectRef


@dataclass(frozen=True)
class EngineEvent:
    pass


@dataclass(frozen=True)
class PhaseStarted(EngineEvent):
    cluster: str
    phase: str
    objects: int


@dataclass(frozen=True)
class ObjectApplied(EngineEvent):
    ref: ObjectRef
    action: str  # created | configured | unchanged


@dataclass(frozen=True)
class ObjectDeleted(EngineEvent):
    ref: ObjectRef
    action: str  # deleted | gone


@dataclass(frozen=True)
class WaitStarted(EngineEvent):
    ref: ObjectRef
    what: str


@dataclass(frozen=True)
class WaitDone(EngineEvent):
    ref: ObjectRef
    seconds: float


@dataclass(frozen=True)
class Note(EngineEvent):
    message: str


OnEngineEvent = Callable[[EngineEvent], None]
"""The callback the engine reports through (may be called from worker threads)."""
