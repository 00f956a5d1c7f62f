"""Waiting for kinds an operator serves only at run time, before applying objects of them.

A component may apply kinds that a component it depends on installs after it starts (Crossplane
creates its CRDs at start-up, and a CRD per composite resource definition it reads); no CRD for
them is in the rendering, so the usual "apply the CRD, wait until Established" does not apply.
Such a component is given the components that may install its kinds (`rendering/installers.py`
says which) and its timeout; when its wave begins and discovery does not know a kind, the wave
waits for it here instead of failing at once (adrs/0021).

The wait follows CustomResourceDefinitions with a watch and reads discovery again as soon as a
CRD of an awaited kind is Established. Discovery is also re-read with backoff (0.25 s doubling to
8 s), for the kinds no CRD serves (an aggregated API) and for a watch that cannot run (no right
to list CRDs): the backoff is the time the wait blocks on the watch's queue, never a sleep. A kind
still unserved at its component's deadline ends the wait with one error naming the kinds, the
component, and what it waited for.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from illm_lab.base.errors import LabError
from illm_lab.engine.events import Note, OnEngineEvent
from illm_lab.kube import Cancel, Cluster
from illm_lab.kube import errors as kerrors

Kind = tuple[str, str]  # (apiVersion, kind)
CRD_API_VERSION = "apiextensions.k8s.io/v1"
BACKOFF_FIRST = 0.25
BACKOFF_MAX = 8.0
JOIN_SECONDS = 2.0


@dataclass(frozen=True)
class Expectation:
    """A component whose objects may be of kinds served only at run time: how long it may wait
    and who may install them (each `component X (why)`)."""

    timeout: float
    installers: tuple[str, ...]


@dataclass
class _Awaited:
    component: str
    kinds: set[Kind]
    expectation: Expectation
    deadline: float


def await_served(
    cluster: Cluster,
    missing: Mapping[str, set[Kind]],
    expected: Mapping[str, Expectation],
    *,
    on_event: OnEngineEvent | None = None,
) -> None:
    """Return once discovery serves every kind of `missing` (component -> kinds not served now;
    each component must be in `expected`), or raise `UnknownKind` for the first component whose
    timeout passes first."""
    emit = on_event or (lambda _e: None)
    started = time.monotonic()
    awaited = [_Awaited(comp, set(kinds), expected[comp], started + expected[comp].timeout)
               for comp, kinds in sorted(missing.items()) if kinds]
    for a in awaited:
        emit(Note(f"component {a.component}: waiting up to {a.expectation.timeout:.0f}s for "
                  f"{_names(a.kinds)} to be served ({_by(a.expectation)} may install them at run time)"))
    everything = {k for a in awaited for k in a.kinds}
    feed = _CrdFeed(cluster, max((a.deadline for a in awaited), default=started), _groups(awaited))
    delay, next_read = BACKOFF_FIRST, started
    try:
        while True:
            if time.monotonic() >= next_read or feed.relevant:
                feed.relevant = False
                _served(cluster, awaited)
                awaited = [a for a in awaited if a.kinds]
                if not awaited:
                    emit(Note(f"{_names(everything)} served after {time.monotonic() - started:.1f}s"))
                    return
                next_read, delay = time.monotonic() + delay, min(delay * 2, BACKOFF_MAX)
            now = time.monotonic()
            late = next((a for a in awaited if now >= a.deadline), None)
            if late is not None:
                raise kerrors.UnknownKind(_timed_out(late, now - started, feed.failed))
            if feed.wait(min(next_read, min(a.deadline for a in awaited))):
                delay = BACKOFF_FIRST  # a CRD of ours changed: read discovery now, then soon
    finally:
        feed.close()


def _served(cluster: Cluster, awaited: list[_Awaited]) -> None:
    """Drop from each component the kinds discovery now serves (one read per group-version)."""
    versions = {api_version for a in awaited for api_version, _ in a.kinds}
    served: set[Kind] = set()
    for api_version in sorted(versions):
        cluster.discovery.invalidate(api_version)
        served |= {(api_version, r.kind) for r in cluster.discovery.kinds(api_version)}
    for a in awaited:
        a.kinds -= served


def _groups(awaited: list[_Awaited]) -> set[tuple[str, str]]:
    """(group, kind) of every awaited kind: what a CRD event is matched against."""
    return {(api_version.rpartition("/")[0], kind) for a in awaited for api_version, kind in a.kinds}


class _CrdFeed:
    """A watch on CustomResourceDefinitions in a thread of its own; `wait` blocks until a CRD of
    an awaited kind is Established (True) or until a time (False). If the watch cannot run
    (forbidden, unreachable), `wait` only blocks until that time and `failed` says why."""

    def __init__(self, cluster: Cluster, deadline: float, wanted: set[tuple[str, str]]) -> None:
        self.cluster, self.deadline, self.wanted = cluster, deadline, wanted
        self.cancel = Cancel()
        self.changes: queue.Queue[bool] = queue.Queue()
        self.relevant = False
        self.failed: str | None = None
        self.thread = threading.Thread(target=self._run, name="lab-await-kinds", daemon=True)
        self.thread.start()

    def wait(self, until: float) -> bool:
        try:
            self.changes.get(timeout=max(0.0, until - time.monotonic()))
        except queue.Empty:
            return False
        self.relevant = True
        return True

    def close(self) -> None:
        self.cancel.set()
        self.thread.join(JOIN_SECONDS)

    def _run(self) -> None:
        try:
            for _type, crd in self.cluster.observe_many(CRD_API_VERSION, "CustomResourceDefinition",
                                                        deadline=self.deadline, cancel=self.cancel):
                if _established(crd) and _defines(crd) & self.wanted:
                    for name in _versions(crd):
                        self.cluster.discovery.invalidate(name)
                    self.changes.put(True)
        except LabError as exc:  # no watch: discovery is still re-read with backoff
            self.failed = exc.message


def _defines(crd: dict[str, Any]) -> set[tuple[str, str]]:
    spec = crd.get("spec") or {}
    kind = (spec.get("names") or {}).get("kind")
    return {(str(spec.get("group", "")), str(kind))} if kind else set()


def _versions(crd: dict[str, Any]) -> list[str]:
    spec = crd.get("spec") or {}
    return [f"{spec.get('group')}/{v.get('name')}" for v in spec.get("versions") or []
            if isinstance(v, dict) and v.get("served", True)]


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(isinstance(c, dict) and c.get("type") == "Established" and c.get("status") == "True"
               for c in conditions)


def _names(kinds: set[Kind]) -> str:
    return ", ".join(f"{kind} ({api_version})" for api_version, kind in sorted(kinds, key=lambda k: k[1]))


def _by(expectation: Expectation) -> str:
    return " or ".join(expectation.installers) or "a component it depends on"


def _timed_out(late: _Awaited, waited: float, no_watch: str | None) -> str:
    watch = f"; CRDs could not be watched ({no_watch}), discovery was re-read" if no_watch else ""
    return (f"component {late.component}: the server still does not serve {_names(late.kinds)} "
            f"after {waited:.0f}s (the component's timeout); it waited for {_by(late.expectation)}, "
            f"a component it depends on, to install them at run time{watch}. Is that operator "
            "running, and does it serve these kinds at these versions?")
