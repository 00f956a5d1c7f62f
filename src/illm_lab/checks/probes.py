"""One probe per check type: a single attempt that says pass or fail, and why.

Probes never wait: the runner (`runner.py`) retries them until the check's deadline. Object
probes read the API; `http` and `promql` go through the API server's service proxy (no cluster
DNS, load balancer or port needed), or for `via: port-forward` through a tunnel the run manages
(`conduct/forwards.py`), which is what a learner's browser uses; `logs` reads pod logs; `job`
runs a Pod created through the conduct's recorded-create callback, so `lab down` can always find
it; `command` runs a local program without a shell, with KUBECONFIG pointing at the check's
cluster; `access` asks the API server's authorizer whether a subject may do something.
"""

from __future__ import annotations

import builtins
import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from illm_lab.base import kinds
from illm_lab.base.errors import InputError
from illm_lab.checks.match import compare, mismatches
from illm_lab.checks.result import Outcome
from illm_lab.model import checks as m


class ClusterApi(Protocol):
    """What probes need of a cluster connection (implemented by `kube.Cluster`)."""

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None: ...

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]: ...

    def proxy_get(
        self,
        namespace: str,
        service: str,
        port: str | int,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, bytes]: ...

    def pod_logs(
        self, namespace: str, pod: str, container: str | None = None, tail_lines: int | None = None
    ) -> str: ...

    def events(self, namespace: str, name: str | None = None) -> builtins.list[dict[str, Any]]: ...

    def review_access(
        self, user: str, groups: builtins.list[str], attributes: dict[str, str]
    ) -> tuple[bool, str]: ...


Readiness = Callable[[dict[str, Any]], tuple[bool, str]]


@dataclass
class ProbeContext:
    cluster: ClusterApi
    readiness: Readiness
    kubeconfig: Path | None = None
    context: str | None = None
    run_pod: Callable[[m.JobSpec, str, float], Outcome] | None = None
    run_command: Callable[[m.CommandSpec, dict[str, str], float], tuple[int, str, str]] | None = None
    env: dict[str, str] = field(default_factory=dict)
    # (namespace, service, port) -> base URL of a lab-managed port-forward on 127.0.0.1
    forward: Callable[[str, str, str], str] | None = None


def selector_text(selector: dict[str, str] | None) -> str | None:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) if selector else None


def _api_version(kind: str, given: str | None) -> str:
    version = given or kinds.api_version_of(kind)
    if version is None:
        raise InputError(f"apiVersion is required for kind {kind} (not a built-in kind lab knows)")
    return version


def _objects(
    cluster: ClusterApi,
    api_version: str,
    kind: str,
    namespace: str | None,
    name: str | None,
    selector: dict[str, str] | None,
) -> list[dict[str, Any]]:
    if name:
        obj = cluster.get(api_version, kind, name, namespace)
        if obj is None:
            return []
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if selector and not all(labels.get(k) == v for k, v in selector.items()):
            return []
        return [obj]
    return cluster.list(api_version, kind, namespace, selector_text(selector))


def _where(namespace: str | None, name: str | None, selector: dict[str, str] | None) -> str:
    ident = name or f"[{selector_text(selector)}]"
    return f"{namespace}/{ident}" if namespace else ident


def probe_ready(check: m.ReadyCheck, ctx: ProbeContext) -> Outcome:
    r = check.ready
    objs = _objects(ctx.cluster, _api_version(r.kind, r.api_version), r.kind, r.namespace, r.name, r.selector)
    what = f"{r.kind} {_where(r.namespace, r.name, r.selector)}"
    if not objs:
        return Outcome(False, f"{what} not found")
    waiting = []
    for obj in objs:
        if r.condition:
            ok, why = _condition_true(obj, r.condition)
        else:
            ok, why = ctx.readiness(obj)
        if not ok:
            waiting.append(f"{obj['metadata'].get('name')}: {why}")
    if waiting:
        return Outcome(False, f"{what} not ready: " + "; ".join(waiting[:3]))
    return Outcome(True, f"{what} ready" + (f" ({len(objs)} objects)" if len(objs) > 1 else ""))


def _condition_true(obj: dict[str, Any], condition: str) -> tuple[bool, str]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == condition:
            ok = str(cond.get("status")) == "True"
            return ok, f"condition {condition}={cond.get('status')} {cond.get('message') or ''}".strip()
    return False, f"condition {condition} not reported yet"


def _resource_objects(spec: m.ResourceSpec, ctx: ProbeContext) -> tuple[list[dict[str, Any]], str]:
    res = spec.resource
    meta = res.get("metadata") or {}
    name, namespace, labels = meta.get("name"), meta.get("namespace"), meta.get("labels")
    objs = _objects(ctx.cluster, res["apiVersion"], res["kind"], namespace, name, labels)
    return objs, f"{res['kind']} {_where(namespace, name, labels)}"


def probe_assert(check: m.AssertCheck, ctx: ProbeContext) -> Outcome:
    objs, what = _resource_objects(check.assert_, ctx)
    if not objs:
        return Outcome(False, f"{what} not found")
    expected = {k: v for k, v in check.assert_.resource.items() if k not in ("apiVersion", "kind")}
    best: list[str] | None = None
    for obj in objs:
        diff = mismatches(expected, obj)
        if not diff:
            return Outcome(True, f"{what} matches")
        if best is None or len(diff) < len(best):
            best = diff
    return Outcome(False, f"{what} does not match: {best[0] if best else ''}", details=best or [])


def probe_absent(check: m.AbsentCheck, ctx: ProbeContext) -> Outcome:
    objs, what = _resource_objects(check.absent, ctx)
    expected = {k: v for k, v in check.absent.resource.items() if k not in ("apiVersion", "kind")}
    matching = [o for o in objs if not mismatches(expected, o)]
    if matching:
        names = ", ".join(str(o["metadata"].get("name")) for o in matching[:3])
        return Outcome(False, f"{what} still present: {names}")
    return Outcome(True, f"{what} absent")


def _service(ref: str) -> tuple[str, str, str]:
    return m.parse_service_ref(ref)


def probe_http(check: m.HttpCheck, ctx: ProbeContext) -> Outcome:
    h = check.http
    if h.url is not None:
        status, body = _fetch_url(h.url.rstrip("/") + h.path if h.path != "/" else h.url, h.method, h.headers)
        target = h.url
    elif h.via == "port-forward":
        if ctx.forward is None:
            raise InputError(f"check {check.name!r}: via: port-forward needs a run that manages tunnels")
        assert h.service is not None
        base = ctx.forward(*_service(h.service))
        status, body = _fetch_url(base + h.path, h.method, h.headers)
        target = f"service {h.service}{h.path} (port-forward)"
    else:
        assert h.service is not None
        ns, svc, port = _service(h.service)
        status, body = ctx.cluster.proxy_get(ns, svc, port, h.path, method=h.method, headers=h.headers)
        target = f"service {h.service}{h.path}"
    return _judge_http(target, status, body, h.expect)


def _fetch_url(url: str, method: str, headers: dict[str, str]) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise InputError(f"url {url[:80]!r} must be http(s)")
    req = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return int(resp.status), resp.read(1024 * 1024)
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read(1024 * 1024)
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(getattr(exc, "reason", exc)).encode()


def _judge_http(target: str, status: int, body: bytes, expect: m.HttpExpect) -> Outcome:
    text = body.decode("utf-8", "replace")
    if status != expect.status:
        snippet = " ".join(text.split())[:160]
        return Outcome(
            False,
            f"{target}: status {status}, expected {expect.status}" + (f" ({snippet})" if snippet else ""),
        )
    if expect.body is not None and not re.search(expect.body, text):
        return Outcome(False, f"{target}: body does not match /{expect.body}/", details=[text[:400]])
    if expect.json_path:
        try:
            doc = json.loads(text)
        except ValueError:
            return Outcome(False, f"{target}: body is not JSON")
        for path, want in expect.json_path.items():
            got = _dig(doc, path)
            if mismatches(want, got, path):
                return Outcome(False, f"{target}: {mismatches(want, got, path)[0]}")
    return Outcome(True, f"{target}: status {status}")


def _dig(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return None
    return doc


def probe_promql(check: m.PromqlCheck, ctx: ProbeContext) -> Outcome:
    """The query must return a scalar, or a non-empty vector whose every sample satisfies the
    comparison; an empty result is "no data", a failure (the usual cause: not scraped yet)."""
    p = check.promql
    ns, svc, port = _service(p.service)
    path = f"{p.path_prefix}/api/v1/query?" + urllib.parse.urlencode({"query": p.query})
    status, body = ctx.cluster.proxy_get(ns, svc, port, path)
    if status != 200:
        return Outcome(False, f"query failed with status {status}: {body[:200].decode('utf-8', 'replace')}")
    try:
        data = json.loads(body)["data"]
        kind, result = data["resultType"], data["result"]
        if kind == "scalar":
            values = [float(result[1])]
        elif kind == "vector":
            values = [float(sample["value"][1]) for sample in result]
        else:
            return Outcome(False, f"query returned a {kind}; expected a scalar or an instant vector")
    except (ValueError, KeyError, TypeError, IndexError):
        return Outcome(False, "the service did not answer like a Prometheus query API")
    want = f"{p.expect.op} {p.expect.value:g}"
    if not values:
        return Outcome(False, f"{p.query}: no data (expected {want})")
    bad = [v for v in values if not compare(p.expect.op, v, p.expect.value)]
    shown = ", ".join(f"{v:g}" for v in values[:5])
    if bad:
        return Outcome(False, f"{p.query} = {shown}, expected {want}")
    return Outcome(True, f"{p.query} = {shown} ({want})")


def probe_logs(check: m.LogsCheck, ctx: ProbeContext) -> Outcome:
    spec = check.logs
    if spec.pod:
        pods = [spec.pod]
    else:
        found = ctx.cluster.list("v1", "Pod", spec.namespace, selector_text(spec.selector))
        pods = [str(p["metadata"]["name"]) for p in found]
    if not pods:
        return Outcome(False, f"no pods match {_where(spec.namespace, spec.pod, spec.selector)}")
    pattern = re.compile(spec.pattern)
    for pod in pods:
        text = ctx.cluster.pod_logs(spec.namespace, pod, spec.container, spec.tail_lines)
        for line in text.splitlines():
            if pattern.search(line):
                return Outcome(True, f"{spec.namespace}/{pod}: {line.strip()[:160]}")
    return Outcome(False, f"no log line of {len(pods)} pod(s) matches /{spec.pattern}/")


def probe_job(check: m.JobCheck, ctx: ProbeContext, remaining: float) -> Outcome:
    if ctx.run_pod is None:
        raise InputError("job checks need a cluster session that can create pods")
    return ctx.run_pod(check.job, check.name, remaining)


def probe_command(check: m.CommandCheck, ctx: ProbeContext, remaining: float) -> Outcome:
    if ctx.run_command is None:
        raise InputError("command checks need a command runner")
    env = dict(ctx.env)
    if ctx.kubeconfig is not None:
        env["KUBECONFIG"] = str(ctx.kubeconfig)
    code, out, err = ctx.run_command(check.command, env, remaining)
    spec = check.command
    if code != spec.exit_code:
        tail = " ".join((err or out).split())[-200:]
        return Outcome(
            False, f"{spec.run[0]} exited {code}, expected {spec.exit_code}" + (f": {tail}" if tail else "")
        )
    if spec.stdout is not None and not re.search(spec.stdout, out):
        return Outcome(False, f"{spec.run[0]} output does not match /{spec.stdout}/", details=[out[-400:]])
    return Outcome(True, f"{spec.run[0]} exited {code}")


def probe_access(check: m.AccessCheck, ctx: ProbeContext) -> Outcome:
    spec = check.access
    user, groups = spec.subject
    allowed, reason = ctx.cluster.review_access(user, groups, spec.attributes)
    who = f"ServiceAccount {spec.service_account}" if spec.service_account else f"user {user}"
    what = f"{spec.verb} {spec.resource}" + (f" {spec.name}" if spec.name else "")
    where = f"in {spec.namespace}" if spec.namespace else "cluster-wide"
    said = f"{who} {'may' if allowed else 'may not'} {what} {where}" + (f" ({reason})" if reason else "")
    if allowed != spec.allowed:
        return Outcome(False, f"{said}; expected it {'allowed' if spec.allowed else 'denied'}")
    return Outcome(True, said)
