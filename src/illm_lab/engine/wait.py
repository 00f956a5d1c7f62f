"""Waiting for objects to become ready: watches with deadlines, never sleep-polling.

`wait_for` follows one object through `Cluster.observe` (list + watch, resumed when dropped) and
evaluates a readiness rule from `readiness.py` on every change. It returns as soon as the rule
holds, raises `WaitFailed` at once when the rule says the object cannot get there, and raises
`WaitTimeout` at the deadline with what it waited for and the last status it saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor
from concurrent.futures import wait as all_done
from typing import Any

from illm_lab.base.identity import ObjectRef
from illm_lab.engine import readiness
from illm_lab.engine.events import Event, WaitDone, WaitStarted
from illm_lab.kube import Cancel, Cluster
from illm_lab.kube.errors import WaitFailed, WaitTimeout


def wait_for(
    cluster: Cluster,
    ref: ObjectRef,
    condition: readiness.Condition,
    *,
    deadline: float,
    what: str | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any] | None:
    """The object once `condition` holds (None if the condition is absence).

    `deadline` is a `time.monotonic()` value; `what` names the wait in messages
    (default: "<Kind> <namespace>/<name> <readiness of its kind>"); `cancel` ends it early
    (raising WaitFailed "cancelled").
    """
    label = what or f"{ref} {readiness.describe(ref.kind)}"
    started = time.monotonic()
    last = readiness.Verdict(False, "nothing seen yet")
    for obj in cluster.observe(ref.api_version, ref.kind, ref.name, ref.namespace, deadline=deadline,
                               cancel=cancel):
        last = condition(obj)
        if last.failed:
            raise WaitFailed(f"{label}: {last.failed} (last status: {last.status})")
        if last.done:
            return obj
    if cancel is not None and cancel.is_set():
        raise WaitFailed(f"{label}: cancelled (last status: {last.status})")
    waited = time.monotonic() - started
    raise WaitTimeout(f"timed out after {waited:.1f}s waiting for {label}; last status: {last.status}")


def wait_all(
    cluster: Cluster,
    refs: Iterable[ObjectRef],
    *,
    deadline: float,
    workers: int = 8,
    on_event: Callable[[Event], None] | None = None,
) -> None:
    """Wait concurrently for every object whose kind has a readiness rule; on the first failure
    the other waits are cancelled (their watches closed) and that failure is raised at once."""
    todo = [r for r in refs if readiness.for_kind(r.kind) is not None]
    if not todo:
        return
    emit = on_event or (lambda _e: None)
    cancel = Cancel()

    def one(ref: ObjectRef) -> None:
        if cancel.is_set():
            return
        rule = readiness.for_kind(ref.kind)
        assert rule is not None
        emit(WaitStarted(ref, readiness.describe(ref.kind)))
        started = time.monotonic()
        wait_for(cluster, ref, rule, deadline=deadline, cancel=cancel)
        emit(WaitDone(ref, time.monotonic() - started))

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as pool:
        futures = [pool.submit(one, ref) for ref in todo]
        try:
            all_done(futures, return_when=FIRST_EXCEPTION)
        finally:
            failed = [f for f in futures if f.done() and f.exception() is not None]
            if failed or not all(f.done() for f in futures):
                cancel.set()  # a failure, or Ctrl-C: end the other waits now
        if failed:
            raise failed[0].exception()  # type: ignore[misc]
