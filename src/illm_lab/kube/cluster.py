"""`Cluster`: the small API the rest of lab uses to talk to one Kubernetes cluster.

Objects go in and come out as plain dicts (the JSON the server speaks), so callers never see a
generated model class, and every method is safe to call from several threads at once: they share
one connection pool. Deletes go through the same JSON path as everything else; the generated
typed `delete_namespaced_service` of kubernetes 37 cannot parse the `Status` a 1.20 server
returns, which is one more reason to keep the generated classes out of the way.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from illm_lab.base.errors import LabError
from illm_lab.base.identity import ObjectRef
from illm_lab.kube import errors, watch
from illm_lab.kube.config import Endpoint
from illm_lab.kube.resources import Discovery, Resource
from illm_lab.kube.retry import RetryPolicy
from illm_lab.kube.transport import Transport

FIELD_MANAGER = "illm-lab"
APPLY_PATCH = "application/apply-patch+yaml"  # JSON is YAML: the body is sent as JSON bytes
MERGE_PATCH = "application/merge-patch+json"


class Cluster:
    """A connection to one cluster (one kubeconfig context)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.target: Endpoint = transport.target
        self.discovery = Discovery(transport)

    # -- identity -------------------------------------------------------------------------
    @property
    def server(self) -> str:
        return self.target.server

    @property
    def context(self) -> str:
        return self.target.context

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    def resource(self, api_version: str, kind: str) -> Resource:
        return self.discovery.resource(api_version, kind)

    # -- reads ----------------------------------------------------------------------------
    def server_version(self) -> str:
        """The server's gitVersion, e.g. `v1.31.2`."""
        data = self.transport.request("GET", "/version").json() or {}
        return str(data.get("gitVersion", ""))

    def node_summaries(self) -> builtins.list[str]:
        """One line per node, `<os image>, <container runtime>`: what a validation record says
        the run ran on. Empty when nodes cannot be listed (RBAC)."""
        try:
            data = self.transport.request("GET", "/api/v1/nodes").json() or {}
        except LabError:
            return []
        out = []
        for node in data.get("items") or []:
            info = (node.get("status") or {}).get("nodeInfo") or {}
            out.append(f"{info.get('osImage', '?')}, {info.get('containerRuntimeVersion', '?')}")
        return out

    def api_versions(self) -> builtins.list[str]:
        """Every group/version the server serves (`v1`, `apps/v1`, ...), for `helm --api-versions`."""
        core = self.transport.request("GET", "/api").json() or {}
        groups = self.transport.request("GET", "/apis").json() or {}
        out = [str(v) for v in core.get("versions") or []]
        for group in groups.get("groups") or []:
            out += [str(v.get("groupVersion")) for v in group.get("versions") or [] if v.get("groupVersion")]
        return sorted(set(out))

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The object, or None if it does not exist."""
        res = self.resource(api_version, kind)
        ref = ObjectRef(api_version, kind, name, _ns(res, namespace))
        try:
            obj = self.transport.request("GET", res.path(ref.namespace, name), ref=ref).json()
        except errors.NotFound:
            return None
        return obj if isinstance(obj, dict) else None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of `kind` in `namespace` (all namespaces when None), each with its
        apiVersion and kind set (list items carry neither)."""
        res = self.resource(api_version, kind)
        query = {"labelSelector": label_selector, "fieldSelector": field_selector}
        data = self.transport.request(
            "GET", res.path(namespace), query=query, ref=f"{kind} list"
        ).json() or {}
        items: list[dict[str, Any]] = list(data.get("items") or [])
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def events(self, namespace: str, name: str | None = None) -> builtins.list[dict[str, Any]]:
        """Events in `namespace` (about the object called `name`), oldest first."""
        selector = f"involvedObject.name={name}" if name else None
        items = self.list("v1", "Event", namespace, field_selector=selector)
        return sorted(items, key=_event_time)

    def review_access(
        self, user: str, groups: builtins.list[str], attributes: Mapping[str, str]
    ) -> tuple[bool, str]:
        """(allowed, the authorizer's reason) for `user` doing what `attributes` (a
        SubjectAccessReview's resourceAttributes) say: the question `kubectl auth can-i --as`
        asks, answered by the API server. Needs the right to create SubjectAccessReviews."""
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": user, "groups": groups, "resourceAttributes": dict(attributes)}}
        resp = self.transport.request(
            "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            body=json.dumps(review).encode(), content_type="application/json",
            ref=f"SubjectAccessReview for {user}",
        )
        status = (resp.json() or {}).get("status") or {}
        reason = str(status.get("reason") or status.get("evaluationError") or "")
        return bool(status.get("allowed")), reason

    def pod_logs(
        self, namespace: str, pod: str, container: str | None = None, tail_lines: int | None = None
    ) -> str:
        ref = ObjectRef("v1", "Pod", pod, namespace)
        resp = self.transport.request(
            "GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log",
            query={"container": container, "tailLines": tail_lines}, accept="*/*", ref=ref,
        )
        return resp.body.decode("utf-8", "replace")

    def proxy_get(
        self,
        namespace: str,
        service: str,
        port: int | str,
        path: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        body: bytes | None = None,
        content_type: str | None = None,
        attempts: int = 3,
    ) -> tuple[int, bytes]:
        """Call a Service through the API server's service proxy; the backend's status and body.

        `port` is a port number or a port name. Transport faults are retried briefly; HTTP
        answers (including the proxy's own 503 when no endpoint is ready) are returned as is.
        `body` (with its `content_type`) is sent with a POST or PUT; it may hold secrets, so it
        is never part of an error message. Pass `attempts=1` for a request that must not be
        repeated (one whose answer is the only copy of something, like OpenBao's init keys).
        """
        target = f"{quote(service, safe='')}:{quote(str(port), safe='')}"
        url = f"/api/v1/namespaces/{namespace}/services/{target}/proxy/{path.lstrip('/')}"
        resp = self.transport.request(
            method.upper(), url, accept="*/*", extra_headers=headers, timeout=timeout,
            raise_for_status=False, ref=f"Service {namespace}/{service}:{port}",
            policy=RetryPolicy(attempts=attempts, budget=timeout), body=body, content_type=content_type,
        )
        return resp.status, resp.body

    def observe(
        self, api_version: str, kind: str, name: str, namespace: str | None = None, *,
        deadline: float, cancel: watch.Cancel | None = None,
    ) -> Iterator[dict[str, Any] | None]:
        """The object now and after each change (None while absent) until `deadline`, a
        `time.monotonic()` value, or until `cancel` is set. See `kube/watch.py`."""
        res = self.resource(api_version, kind)
        return watch.observe(
            self.transport, res, name, _ns(res, namespace), deadline=deadline, cancel=cancel
        )

    def observe_many(
        self, api_version: str, kind: str, namespace: str | None = None, *,
        label_selector: str | None = None, field_selector: str | None = None,
        deadline: float, cancel: watch.Cancel | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """`(ADDED|MODIFIED|DELETED, object)` for each object the selectors match, first as
        listed, then as it changes, until `deadline` or `cancel`. See `kube/watch.py`."""
        res = self.resource(api_version, kind)
        return watch.observe_many(
            self.transport, res, _ns(res, namespace), label_selector=label_selector,
            field_selector=field_selector, deadline=deadline, cancel=cancel,
        )

    # -- writes ---------------------------------------------------------------------------
    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create `obj`; raises Conflict (409) if it exists."""
        ref = ObjectRef.of(obj)
        res = self.resource(ref.api_version, ref.kind)
        body = json.dumps(obj).encode()
        created = self.transport.request(
            "POST", res.path(ref.namespace), body=body, content_type="application/json", ref=ref
        ).json()
        return dict(created or {})

    def apply(
        self,
        obj: dict[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply `obj` (a full desired object) and return the live result."""
        ref = ObjectRef.of(obj)
        res = self.resource(ref.api_version, ref.kind)
        live, _ = self.apply_to(res, obj, field_manager=field_manager, force=force, dry_run=dry_run)
        return live

    def apply_to(
        self,
        res: Resource,
        obj: dict[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """`apply` when the caller already resolved the resource (the engine does, once);
        also tells whether the apply created the object (the server answers 201)."""
        ref = ObjectRef.of(obj)
        query: dict[str, Any] = {"fieldManager": field_manager, "force": force or None}
        if dry_run:
            query["dryRun"] = "All"
        namespace = _ns(res, ref.namespace)
        resp = self.transport.request(
            "PATCH", res.path(namespace, ref.name), query=query, body=json.dumps(obj).encode(),
            content_type=APPLY_PATCH, ref=ref,
        )
        return dict(resp.json() or {}), resp.status == 201

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        wait: bool,
        deadline: float,
        propagation: str = "Foreground",
    ) -> bool:
        """Delete (foreground propagation unless told `Background`); False if it was already
        gone.

        `deadline` is a `time.monotonic()` value. With `wait`, return only once the object is
        gone (with foreground, its dependents first), or raise WaitTimeout naming what still
        holds it.
        """
        res = self.resource(api_version, kind)
        ns = _ns(res, namespace)
        ref = ObjectRef(api_version, kind, name, ns)
        body = json.dumps(
            {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        ).encode()
        budget = max(0.1, deadline - time.monotonic())
        try:
            self.transport.request(
                "DELETE", res.path(ns, name), body=body, content_type="application/json", ref=ref,
                policy=RetryPolicy(budget=budget),
            )
        except errors.NotFound:
            return False
        if wait:
            self.wait_deleted(res, ref, deadline=deadline)
        return True

    def wait_deleted(self, res: Resource, ref: ObjectRef, *, deadline: float) -> None:
        """Return once the object is gone; raise WaitTimeout (carrying the last version seen)
        at `deadline`."""
        last: dict[str, Any] | None = None
        started = time.monotonic()
        for obj in watch.observe(self.transport, res, ref.name, ref.namespace, deadline=deadline):
            if obj is None:
                return
            last = obj
        meta = (last or {}).get("metadata") or {}
        holders = ", ".join(meta.get("finalizers") or []) or "no finalizers"
        phase = ((last or {}).get("status") or {}).get("phase")
        seen = f"still present ({holders}{', phase ' + str(phase) if phase else ''})"
        raise errors.WaitTimeout(
            f"timed out after {time.monotonic() - started:.0f}s waiting for {ref} to be deleted; "
            f"last seen: {seen}", last=last,
        )

    def remove_finalizers(self, ref: ObjectRef) -> bool:
        """Drop every finalizer of the object (a JSON merge patch setting them to null); False
        if it was already gone."""
        return self.merge_patch(ref, {"metadata": {"finalizers": None}})

    def merge_patch(self, ref: ObjectRef, patch: dict[str, Any]) -> bool:
        """Apply a JSON merge patch to the object; False if it was already gone."""
        res = self.resource(ref.api_version, ref.kind)
        body = json.dumps(patch).encode()
        try:
            self.transport.request("PATCH", res.path(_ns(res, ref.namespace), ref.name), body=body,
                                   content_type=MERGE_PATCH, ref=ref)
        except errors.NotFound:
            return False
        return True

    def namespaced_resources(self) -> builtins.list[Resource]:
        """Every namespaced kind the server lists (each group's preferred version): what may
        hold a Namespace being deleted."""
        out: dict[tuple[str, str], Resource] = {}
        for api_version in self.preferred_versions():
            for res in self.discovery.kinds(api_version):
                group = api_version.rpartition("/")[0]
                if res.namespaced and "list" in res.verbs:
                    out.setdefault((group, res.kind), res)
        return list(out.values())

    def preferred_versions(self) -> builtins.list[str]:
        """`v1` and each API group's preferred group/version."""
        groups = self.transport.request("GET", "/apis").json() or {}
        out = ["v1"]
        for group in groups.get("groups") or []:
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            if preferred:
                out.append(str(preferred))
        return out


def connect(
    kubeconfig: Path | str | None = None,
    context: str | None = None,
    *,
    pool_size: int = 32,
    policy: RetryPolicy | None = None,
) -> Cluster:
    """A `Cluster` for `context` of `kubeconfig` (defaults: $KUBECONFIG, its current context).

    Nothing is sent yet, and no exec credential plugin runs: an unreachable server or a failing
    plugin is reported by the first request, as `kube.errors.Unreachable` or a ClusterError
    (exit 3). A malformed kubeconfig raises ConfigError (exit 2).
    """
    from illm_lab.kube.config import load

    settings, target = load(Path(kubeconfig) if kubeconfig is not None else None, context)
    return Cluster(Transport(settings, target, pool_size=pool_size, policy=policy))


def _ns(res: Resource, namespace: str | None) -> str | None:
    """The namespace a request goes to: `default` for a namespaced kind given none (as kubectl)."""
    return (namespace or "default") if res.namespaced else None


def _event_time(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp") or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp") or ""
    )
