"""Running a check: retry its probe until the deadline, then collect diagnostics on failure.

A probe that raises a ClusterError (a transient API failure, a proxy that cannot reach a pod yet)
counts as a failed attempt and is retried; bad input (an invalid regex, an unknown kind) fails
the check at once. The pause between attempts waits on the run's stop event, so Ctrl-C ends a
check immediately instead of after its interval.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from illm_lab.base.errors import ClusterError, InputError, LabError
from illm_lab.checks import probes
from illm_lab.checks.result import CheckResult, Outcome
from illm_lab.model import checks as m


def run_check(
    check: m.AnyCheck,
    ctx: probes.ProbeContext,
    stop: threading.Event | None = None,
    *,
    checkpoint: str | None = None,
    timeout: float | None = None,
) -> CheckResult:
    """`timeout` overrides the check's own deadline (`--check-timeout`)."""
    stop = stop or threading.Event()
    kind = m.check_type(check)
    timeout = timeout if timeout is not None else m.effective_timeout(check)
    start = time.monotonic()
    deadline = start + timeout
    attempts = 0
    last = Outcome(False, "not run")
    while not stop.is_set():
        attempts += 1
        try:
            last = _attempt(check, ctx, max(0.5, deadline - time.monotonic()))
        except InputError as exc:
            last = Outcome(False, str(exc))
            break
        except re.error as exc:
            last = Outcome(False, f"invalid regular expression: {exc}")
            break
        except ClusterError as exc:
            last = Outcome(False, str(exc))
        if last.ok:
            break
        interval = min(check.interval, max(0.2, timeout / 10))
        if time.monotonic() + interval >= deadline:
            break
        stop.wait(interval)
    duration = time.monotonic() - start
    if stop.is_set() and not last.ok:
        last = Outcome(False, f"interrupted: {last.message}", last.details)
    result = CheckResult(
        name=check.name,
        type=kind,
        cluster=check.cluster,
        passed=last.ok,
        message=last.message if last.ok else f"{last.message} (after {attempts} attempts, {duration:.1f}s)",
        duration=duration,
        attempts=attempts,
        checkpoint=checkpoint,
    )
    if not last.ok:
        result.diagnostics = [*last.details, *diagnostics(check, ctx)]
    return result


def _attempt(check: m.AnyCheck, ctx: probes.ProbeContext, remaining: float) -> Outcome:
    if isinstance(check, m.ReadyCheck):
        return probes.probe_ready(check, ctx)
    if isinstance(check, m.AssertCheck):
        return probes.probe_assert(check, ctx)
    if isinstance(check, m.AbsentCheck):
        return probes.probe_absent(check, ctx)
    if isinstance(check, m.HttpCheck):
        return probes.probe_http(check, ctx)
    if isinstance(check, m.PromqlCheck):
        return probes.probe_promql(check, ctx)
    if isinstance(check, m.LogsCheck):
        return probes.probe_logs(check, ctx)
    if isinstance(check, m.JobCheck):
        return probes.probe_job(check, ctx, remaining)
    if isinstance(check, m.AccessCheck):
        return probes.probe_access(check, ctx)
    return probes.probe_command(check, ctx, remaining)


def _target(check: m.AnyCheck) -> tuple[str | None, str | None, dict[str, str] | None]:
    """(namespace, object name, selector) the diagnostics should look at."""
    if isinstance(check, m.ReadyCheck):
        return check.ready.namespace, check.ready.name, check.ready.selector
    if isinstance(check, m.AssertCheck | m.AbsentCheck):
        res = check.assert_.resource if isinstance(check, m.AssertCheck) else check.absent.resource
        meta = res.get("metadata") or {}
        return meta.get("namespace"), meta.get("name"), meta.get("labels")
    if isinstance(check, m.HttpCheck) and check.http.service:
        ns, name, _ = m.parse_service_ref(check.http.service)
        return ns, name, None
    if isinstance(check, m.PromqlCheck):
        ns, name, _ = m.parse_service_ref(check.promql.service)
        return ns, name, None
    if isinstance(check, m.LogsCheck):
        return check.logs.namespace, check.logs.pod, check.logs.selector
    if isinstance(check, m.JobCheck):
        return check.job.namespace, None, None
    return None, None, None


def diagnostics(check: m.AnyCheck, ctx: probes.ProbeContext) -> list[str]:
    """Recent warning events, not-ready pods and their log tails in the check's namespace."""
    namespace, name, _selector = _target(check)
    if namespace is None:
        return []
    out: list[str] = []
    try:
        events = ctx.cluster.events(namespace)
        relevant = [e for e in events if e.get("type") == "Warning" or (name and _involves(e, name))]
        for event in relevant[-8:]:
            obj = event.get("involvedObject") or {}
            out.append(
                f"event {event.get('type')} {obj.get('kind')}/{obj.get('name')}: "
                f"{event.get('reason')}: {str(event.get('message', ''))[:200]}"
            )
        pods = ctx.cluster.list("v1", "Pod", namespace)
        for pod in [p for p in pods if not _pod_ready(p)][:3]:
            pod_name = str(pod["metadata"]["name"])
            status = pod.get("status") or {}
            out.append(
                f"pod {namespace}/{pod_name}: phase {status.get('phase')}, {_container_states(status)}"
            )
            tail = ctx.cluster.pod_logs(namespace, pod_name, None, 10)
            out.extend(f"  | {line[:200]}" for line in tail.splitlines()[-10:])
    except LabError as exc:
        out.append(f"(diagnostics incomplete: {exc})")
    return out


def _involves(event: dict[str, Any], name: str) -> bool:
    return str((event.get("involvedObject") or {}).get("name", "")).startswith(name)


def _pod_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status")) == "True"
    return (pod.get("status") or {}).get("phase") == "Succeeded"


def _container_states(status: dict[str, Any]) -> str:
    parts = []
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        for key, val in state.items():
            reason = (val or {}).get("reason") or ""
            parts.append(f"{cs.get('name')}: {key}{' ' + reason if reason else ''}")
    return ", ".join(parts) or "no container status"
