"""Waiting for objects to become ready: watches with deadlines, never sleep-polling.

`wait_for` follows one object through `Cluster.observe` (list + watch, resumed when dropped) and
evaluates a readiness rule from `readiness.py` on every change. It returns as soon as the rule
holds, raises `WaitFailed` at once when the rule says the object cannot get there, and raises
`WaitTimeout` at the deadline with what it waited for and the last status it saw.

For a workload (Deployment, StatefulSet, DaemonSet, Job, Pod) waited on by its kind's rule, it
also follows the workload's pods, a Deployment's ReplicaSets and the namespace's events, each
watch in a thread of its own feeding one queue, and keeps the latest reason per pod
(`diagnosis.py`). A failure then reads `<Kind ns/name>: <n>/<m> ready: <reason>`, with the pods
and recent events as its `detail` (shown with `-v`), and a pod in a state that will not recover
by waiting (`pods.py`: ErrImageNeverPull, a crash loop, ...) ends the wait at once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor
from concurrent.futures import wait as all_done
from typing import Any

from illm_lab.base.errors import LabError
from illm_lab.base.identity import ObjectRef
from illm_lab.engine import nodes, readiness
from illm_lab.engine.diagnosis import FOLLOWED_KINDS, Diagnosis, pod_selector
from illm_lab.engine.events import OnEngineEvent, WaitDone, WaitStarted
from illm_lab.engine.pods import EarlyFailure, is_ready
from illm_lab.kube import Cancel, Cluster
from illm_lab.kube.errors import WaitFailed, WaitTimeout

Obj = dict[str, Any]
JOIN_SECONDS = 2.0  # a cancelled watch ends at once; this only bounds a request in flight


def wait_for(
    cluster: Cluster,
    ref: ObjectRef,
    condition: readiness.Condition,
    *,
    deadline: float,
    what: str | None = None,
    cancel: Cancel | None = None,
    pods: bool | None = None,
    early: EarlyFailure | None = None,
) -> dict[str, Any] | None:
    """The object once `condition` holds (None if the condition is absence).

    `deadline` is a `time.monotonic()` value; `what` names the wait in messages
    (default: "<Kind> <namespace>/<name> <readiness of its kind>"); `cancel` ends it early
    (raising WaitFailed "cancelled"). `pods` follows the workload's pods and events (default:
    for a workload waited on by its kind's own rule); `early` sets when a pod state ends the
    wait before its deadline (default: the constants of `pods.py`).
    """
    if pods is None:
        pods = ref.kind in FOLLOWED_KINDS and condition is readiness.for_kind(ref.kind)
    if pods and ref.namespace:
        return _wait_following_pods(cluster, ref, condition, deadline=deadline, what=what,
                                    cancel=cancel, early=early)
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


def _wait_following_pods(
    cluster: Cluster,
    ref: ObjectRef,
    condition: readiness.Condition,
    *,
    deadline: float,
    what: str | None,
    cancel: Cancel | None,
    early: EarlyFailure | None,
) -> dict[str, Any] | None:
    started = time.monotonic()
    diag = Diagnosis(ref, early)
    feeds = _Feeds(cluster, ref, deadline, cancel)
    obj: Obj | None = None
    last = readiness.Verdict(False, "nothing seen yet")
    try:
        feeds.start_object()
        feeds.start("events", "v1", "Event")
        while True:
            due = diag.assess().due
            item = feeds.next(min(deadline, due) if due is not None else deadline)
            if item is None:  # a grace ended, or the deadline came
                if time.monotonic() >= deadline:
                    break
            elif item[0] != "object":
                _record(diag, *item)
            elif item[1] == "END":
                break  # the deadline, or cancelled
            elif item[1] == "ERROR":
                raise item[2]
            else:
                obj = item[2]
                last = condition(obj)
                diag.saw_workload(obj)
                feeds.follow_pods(obj)
            _settle(ref, obj, last, diag)
            if last.done:
                return obj
    finally:
        feeds.close()
    if cancel is not None and cancel.is_set():
        raise WaitFailed(_line(ref, obj, f"cancelled (last status: {last.status})"))
    waited = time.monotonic() - started
    reason = diag.assess().reason or f"last status: {last.status}"
    silent = nodes.silent_nodes(cluster, [p for p in diag.pods.values() if not is_ready(p)])
    if silent:  # why its pods do not start: only a node's kubelet can start them
        reason += f"; pods bound to {'; '.join(silent)}"
    waiting_for = what or readiness.describe(ref.kind)
    raise WaitTimeout(
        _line(ref, obj, f"{reason}; timed out after {waited:.1f}s waiting for {waiting_for}"),
        detail=diag.detail(last.status),
    )


def _record(diag: Diagnosis, feed: str, change: str, payload: Any) -> None:
    """One change of a side watch into the diagnosis; a side watch that fails (no right to
    list events, say) only leaves the diagnosis poorer, a bug is raised."""
    if change == "ERROR":
        if not isinstance(payload, LabError):
            raise payload
        diag.could_not_follow(feed, payload)
    elif change != "END":
        saw = {"pods": diag.saw_pod, "replicasets": diag.saw_replicaset, "events": diag.saw_event}[feed]
        saw(change, payload)


def _settle(ref: ObjectRef, obj: Obj | None, last: readiness.Verdict, diag: Diagnosis) -> None:
    """Raise WaitFailed when the rule says failed or a pod will not recover by waiting."""
    if last.done:
        return
    found = diag.assess()
    if last.failed:
        reason = f"{last.failed}; {found.reason}" if found.reason else last.failed
        raise WaitFailed(_line(ref, obj, reason), detail=diag.detail(last.status))
    if found.fatal:
        raise WaitFailed(_line(ref, obj, f"{found.reason}; this will not recover by waiting"),
                         detail=diag.detail(last.status))


def _line(ref: ObjectRef, obj: Obj | None, reason: str) -> str:
    """`<Kind ns/name>: <n>/<m> ready: <reason>`."""
    counts = readiness.progress(obj)
    head = f"{ref}: {counts[0]}/{counts[1]} {counts[2]}" if counts else str(ref)
    return f"{head}: {reason}"


class _Feeds:
    """The watches of one wait, each in a thread, their changes merged into one queue in the
    order they arrive; closing the wait's Cancel ends them all (their sockets are shut down)."""

    def __init__(self, cluster: Cluster, ref: ObjectRef, deadline: float, cancel: Cancel | None) -> None:
        self.cluster, self.ref, self.deadline = cluster, ref, deadline
        self.cancel = cancel.child() if cancel is not None else Cancel()
        self.queue: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.selector: str | None = None

    def start_object(self) -> None:
        ref = self.ref

        def changes(cancel: Cancel) -> Iterable[tuple[str, Obj | None]]:
            for obj in self.cluster.observe(ref.api_version, ref.kind, ref.name, ref.namespace,
                                            deadline=self.deadline, cancel=cancel):
                yield "MODIFIED", obj

        self._run("object", changes)

    def start(self, feed: str, api_version: str, kind: str, label_selector: str | None = None) -> None:
        def changes(cancel: Cancel) -> Iterable[tuple[str, Obj | None]]:
            yield from self.cluster.observe_many(api_version, kind, self.ref.namespace,
                                                 label_selector=label_selector, deadline=self.deadline,
                                                 cancel=cancel)

        self._run(feed, changes)

    def follow_pods(self, workload: Obj | None) -> None:
        """Start watching the pods (and a Deployment's ReplicaSets) once the selector is known."""
        selector = pod_selector(self.ref, workload)
        if selector is None or self.selector is not None:
            return
        self.selector = selector
        self.start("pods", "v1", "Pod", selector)
        if self.ref.kind == "Deployment":
            self.start("replicasets", "apps/v1", "ReplicaSet", selector)

    def next(self, until: float) -> tuple[str, str, Any] | None:
        """The next change, or None when `until` (a time.monotonic() value) comes first."""
        try:
            return self.queue.get(timeout=max(0.0, until - time.monotonic()))
        except queue.Empty:
            return None

    def close(self) -> None:
        self.cancel.set()
        for thread in self.threads:
            thread.join(JOIN_SECONDS)

    def _run(self, feed: str, changes: Callable[[Cancel], Iterable[tuple[str, Obj | None]]]) -> None:
        def run() -> None:
            try:
                for change, obj in changes(self.cancel):
                    self.queue.put((feed, change, obj))
            except BaseException as exc:  # handed to the waiting thread, which decides
                self.queue.put((feed, "ERROR", exc))
            finally:
                self.queue.put((feed, "END", None))

        thread = threading.Thread(target=run, name=f"lab-wait-{feed}", daemon=True)
        thread.start()
        self.threads.append(thread)


def wait_all(
    cluster: Cluster,
    refs: Iterable[ObjectRef],
    *,
    deadline: float,
    workers: int = 8,
    on_event: OnEngineEvent | None = None,
    early: EarlyFailure | None = None,
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
        wait_for(cluster, ref, rule, deadline=deadline, cancel=cancel, early=early)
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
