"""Why one pod is not ready, and whether waiting can still help: pure functions, no I/O.

`findings` reads a pod's container states, its PodScheduled condition and the events about it,
and returns one-line reasons, most telling first. Some are *fatal*: states that will not recover
by waiting, which end a wait at once instead of at its deadline. The rules (the thresholds are the
constants below, and fields of `EarlyFailure` so a caller or a test can change them):

| state of a container or the pod                      | ends the wait                            |
|------------------------------------------------------|------------------------------------------|
| ErrImageNeverPull, InvalidImageName                  | at once                                  |
| ErrImagePull / ImagePullBackOff                      | seen for IMAGE_PULL_GRACE s, or once the |
|                                                      | kubelet reported IMAGE_PULL_BACKOFFS     |
|                                                      | back-offs pulling the image              |
| CreateContainerConfigError (a missing Secret,        | seen for CONFIG_ERROR_GRACE s: the Secret|
| ConfigMap or key)                                    | may still be created by someone else     |
| CrashLoopBackOff with restartCount >= CRASHLOOP_RESTARTS | at once; not for Job pods, whose Job's |
|                                                      | backoffLimit decides                     |
| PodScheduled=False, reason Unschedulable             | seen for UNSCHEDULABLE_GRACE s, unless an|
|                                                      | autoscaler took the pod up (a Triggered- |
|                                                      | ScaleUp or Nominated event, or a         |
|                                                      | nominated node)                          |

"Seen for" counts from when the wait first saw the state. Only pods of the workload's current
revision are judged: an old pod that still crashes while a fixed rollout replaces it is named in
messages (as "old pod") but never ends a wait.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

IMAGE_PULL_GRACE = 30.0
IMAGE_PULL_BACKOFFS = 3
CONFIG_ERROR_GRACE = 15.0
CRASHLOOP_RESTARTS = 3
UNSCHEDULABLE_GRACE = 60.0

NEVER_PULLS = frozenset({"ErrImageNeverPull", "InvalidImageName"})
PULL_ERRORS = frozenset({"ErrImagePull", "ImagePullBackOff"})
STARTING = frozenset({"ContainerCreating", "PodInitializing"})
AUTOSCALER_REASONS = frozenset({"TriggeredScaleUp", "Nominated"})
MAX_TEXT = 300

# Ranks: lower tells more. A finding's rank orders the reasons of one pod and across pods.
FATAL, WAITING, UNSCHEDULED, EVENT, EXITED, IDLE = range(6)


@dataclass(frozen=True)
class EarlyFailure:
    """When a wait gives up before its deadline; see the module docstring."""

    image_pull_grace: float = IMAGE_PULL_GRACE
    image_pull_backoffs: int = IMAGE_PULL_BACKOFFS
    config_error_grace: float = CONFIG_ERROR_GRACE
    crashloop_restarts: int = CRASHLOOP_RESTARTS
    unschedulable_grace: float = UNSCHEDULABLE_GRACE


@dataclass(frozen=True)
class Finding:
    rank: int
    text: str
    fatal: bool = False
    due: float | None = None  # time.monotonic() at which a grace now running ends


@dataclass(frozen=True)
class Facts:
    """What judging a pod needs besides the pod itself."""

    events: list[Obj]  # events about this pod, oldest first
    since: Mapping[str, float]  # state key (see `graced_states`) -> when first seen
    now: float
    rules: EarlyFailure
    job: bool = False  # a Job's pod: restarts are the Job's business
    current: bool = True  # of the workload's current revision


def is_ready(pod: Obj) -> bool:
    """Ready, finished (a Job's pod) or on its way out: nothing to explain."""
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp") or status.get("phase") == "Succeeded":
        return True
    return (_condition(pod, "Ready") or {}).get("status") == "True"


def graced_states(pod: Obj) -> set[str]:
    """Keys of the pod's states whose grace is counted: `pull:<container>`,
    `config:<container>`, `unschedulable`."""
    keys = set()
    for _label, name, status in _containers(pod):
        reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
        if reason in PULL_ERRORS:
            keys.add(f"pull:{name}")
        elif reason == "CreateContainerConfigError":
            keys.add(f"config:{name}")
    scheduled = _condition(pod, "PodScheduled") or {}
    if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        keys.add("unschedulable")
    return keys


def findings(pod: Obj, facts: Facts) -> list[Finding]:
    """Why `pod` is not ready, most telling first (never empty)."""
    name = (pod.get("metadata") or {}).get("name", "?")
    who = f"pod {name}" if facts.current else f"old pod {name}"
    out = [f for label, cname, status in _containers(pod)
           if (f := _container(f"{who} {label}", cname, status, facts)) is not None]
    scheduling = _scheduling(pod, who, facts)
    if scheduling is not None:
        out.append(scheduling)
    warnings = [e for e in facts.events if e.get("type") == "Warning"]
    if warnings:
        out.append(Finding(EVENT, f"{who}: {event_line(warnings[-1])}"))
    out.append(_idle(pod, who))
    return sorted(out, key=lambda f: f.rank)


def _container(prefix: str, name: str, status: Obj, facts: Facts) -> Finding | None:
    state = status.get("state") or {}
    waiting = state.get("waiting") or {}
    reason, message = str(waiting.get("reason") or ""), clip(waiting.get("message"))
    restarts = int(status.get("restartCount") or 0)
    last = (status.get("lastState") or {}).get("terminated") or {}
    if reason in NEVER_PULLS:
        return _fatal(facts, f"{prefix}: {reason}{_paren(message)}")
    if reason in PULL_ERRORS:
        text = f"{prefix}: {reason}{_paren(_pull_failure(facts.events) or message)}"
        backoffs = _pull_backoffs(facts.events)
        if backoffs >= facts.rules.image_pull_backoffs:
            return _fatal(facts, f"{text}, {backoffs} back-offs")
        return _graced(facts, text, f"pull:{name}", facts.rules.image_pull_grace)
    if reason == "CreateContainerConfigError":
        return _graced(facts, f"{prefix}: {reason}{_paren(message)}", f"config:{name}",
                       facts.rules.config_error_grace)
    if reason == "CrashLoopBackOff":
        text = f"{prefix}: CrashLoopBackOff after {restarts} restarts{exit_text(last)}"
        if not facts.job and restarts >= facts.rules.crashloop_restarts:
            return _fatal(facts, text)
        return Finding(WAITING, text)
    if reason and reason not in STARTING:
        return Finding(WAITING, f"{prefix}: {reason}{_paren(message)}")
    ended = state.get("terminated") or {}
    if ended and int(ended.get("exitCode") or 0) != 0:
        return Finding(EXITED, f"{prefix}: exited{exit_text(ended)}")
    if restarts and last:
        return Finding(EXITED, f"{prefix}: restarted {restarts} time(s){exit_text(last)}")
    return Finding(IDLE, f"{prefix}: {reason}") if reason else None


def _scheduling(pod: Obj, who: str, facts: Facts) -> Finding | None:
    cond = _condition(pod, "PodScheduled") or {}
    if cond.get("status") != "False":
        return None
    reason, message = str(cond.get("reason") or "not scheduled"), clip(cond.get("message"))
    text = f"{who}: {reason}{': ' + message if message else ''}"
    if reason != "Unschedulable":
        return Finding(UNSCHEDULED, text)
    taken_up = (pod.get("status") or {}).get("nominatedNodeName") or any(
        e.get("reason") in AUTOSCALER_REASONS for e in facts.events)
    if taken_up:
        return Finding(UNSCHEDULED, f"{text} (capacity is being added or a node was nominated)")
    return _graced(facts, text, "unschedulable", facts.rules.unschedulable_grace, rank=UNSCHEDULED)


def _idle(pod: Obj, who: str) -> Finding:
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if phase == "Failed":
        return Finding(EXITED, f"{who}: Failed{_paren(clip(status.get('message') or status.get('reason')))}")
    unready = _condition(pod, "ContainersReady") or {}
    if unready.get("status") == "False" and unready.get("message"):
        return Finding(IDLE, f"{who}: {clip(unready.get('message'))}")
    return Finding(IDLE, f"{who}: phase {phase}, not Ready")


def _fatal(facts: Facts, text: str) -> Finding:
    return Finding(FATAL, text, fatal=True) if facts.current else Finding(WAITING, text)


def _graced(facts: Facts, text: str, key: str, grace: float, rank: int = WAITING) -> Finding:
    """Fatal once the state has been seen for `grace` seconds; until then, say when."""
    since = facts.since.get(key, facts.now)
    if not facts.current:
        return Finding(rank, text)
    if facts.now - since >= grace:
        return Finding(FATAL, f"{text}, for {facts.now - since:.0f}s", fatal=True)
    return Finding(rank, text, due=since + grace)


def _pull_backoffs(events: list[Obj]) -> int:
    """How many times the kubelet backed off pulling an image, by its events."""
    return sum(event_count(e) for e in events
               if e.get("reason") == "BackOff" and "pulling image" in str(e.get("message", "")).lower())


def _pull_failure(events: list[Obj]) -> str:
    """The latest registry answer ("failed to pull ...: not found"): more than the back-off."""
    failed = [e for e in events if e.get("reason") == "Failed"
              and str(e.get("message", "")).lower().startswith("failed to pull image")]
    return clip(failed[-1].get("message")) if failed else ""


def _containers(pod: Obj) -> Iterator[tuple[str, str, Obj]]:
    status = pod.get("status") or {}
    for key, label in (("initContainerStatuses", "init container"), ("containerStatuses", "container")):
        for c in status.get(key) or []:
            if isinstance(c, dict):
                yield f"{label} {c.get('name')}", str(c.get("name")), c


def _condition(pod: Obj, type_: str) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None


def event_line(event: Obj) -> str:
    """`Reason: message (n times)` of an Event."""
    count = event_count(event)
    return f"{event.get('reason', '?')}: {clip(event.get('message'))}" + (
        f" ({count} times)" if count > 1 else "")


def event_count(event: Obj) -> int:
    series = event.get("series") or {}
    return int(series.get("count") or event.get("count") or 1)


def exit_text(terminated: Obj) -> str:
    if not terminated:
        return ""
    text = f", last exit code {terminated.get('exitCode', '?')}"
    if terminated.get("reason"):
        text += f" ({terminated['reason']})"
    message = clip(terminated.get("message"))
    return f"{text}: {message}" if message else text


def clip(value: Any) -> str:
    """One line of at most MAX_TEXT characters."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _paren(text: str) -> str:
    return f" ({text})" if text else ""
