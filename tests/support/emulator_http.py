"""The HTTP front of the API emulator: routing, content negotiation, lists, watches, patches.

Why a mixin: `LabEmulator` is a kmock handler, so kmock's DSL reactions and request log live on it;
this module only turns requests into `Store` calls and answers, and keeps the 1,000 lines of HTTP
plumbing out of the module that holds the fixture and the controller API.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import traceback
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp
import kmock
import yaml
from aiohttp import web
from kmock._internal import enums, rendering

from tests.support import emulator_discovery as discovery
from tests.support import emulator_patch as patching
from tests.support import emulator_protobuf as protobuf
from tests.support import emulator_streams as streams
from tests.support.emulator_select import SelectorError, selector_matcher
from tests.support.emulator_store import (
    BUILTIN_GROUPS,
    ApiError,
    Event,
    ResourceType,
    Store,
    Watcher,
    present,
)

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "application/apply-patch+yaml")
_PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


@dataclass(frozen=True)
class LoggedRequest:
    """One request the emulator received: `str()` gives `METHOD /path?query`."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_watch(self) -> bool:
        return self.method == "GET" and self.query.get("watch") in ("true", "1")

    @property
    def is_write(self) -> bool:
        """POST/PUT/PATCH/DELETE that is not a dry run."""
        return self.method in ("POST", "PUT", "PATCH", "DELETE") and self.query.get("dryRun") != "All"

    def __str__(self) -> str:
        query = urllib.parse.urlencode(self.query)
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


@dataclass
class _Route:
    group: str
    version: str
    namespace: str | None
    plural: str | None
    name: str | None
    subresource: str | None
    tail: str
    watch: bool


def parse_api_path(path: str) -> _Route | None:
    """Split `/api/v1/...` and `/apis/g/v/...` paths (including `/api/v1/namespaces/{ns}`)."""
    segs = path.lstrip("/").split("/")
    if segs[0] == "api" and len(segs) >= 2 and segs[1]:
        group, version, rest = "", segs[1], segs[2:]
    elif segs[0] == "apis" and len(segs) >= 3 and segs[2]:
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    watch = bool(rest) and rest[0] == "watch"
    if watch:
        rest = rest[1:]
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    plural = rest[0] or None if rest else None
    name = rest[1] or None if len(rest) > 1 else None
    sub = rest[2] or None if len(rest) > 2 else None
    tail = "/" + "/".join(rest[3:]) if len(rest) > 3 else ""
    return _Route(group, version, namespace, plural, name, sub, tail, watch)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json", headers=headers
    )


def _error(exc: ApiError) -> web.Response:
    return _json(exc.status(), exc.code, exc.headers)


class HttpFront:
    """The request-serving half of `LabEmulator` (a mixin; see the module docstring)."""

    store: Store
    backends: streams.Backends
    pod_logs: streams.PodLogs
    internal_errors: list[str]
    _log: list[LoggedRequest]
    _requests: list[rendering.Request]
    _payloads: list[Any]
    _session: aiohttp.ClientSession | None
    _stopping: asyncio.Event | None
    _port: int

    async def _handle_raw(self, raw: web.BaseRequest) -> web.StreamResponse:
        body = await raw.read()
        content_type = raw.headers.get("Content-Type", "")
        self._log.append(LoggedRequest(raw.method, raw.path, dict(raw.query), content_type, body,
                                       dict(raw.headers)))
        route = parse_api_path(raw.path)
        request = rendering.Request(
            id=len(self._requests),
            raw_request=raw,
            url=raw.url,
            method=raw.method,
            params=dict(raw.query),
            headers=dict(raw.headers),
            cookies=dict(raw.cookies),
            body=body,
            text=body.decode(errors="replace"),
            data=_loads_or_none(body),
            action=_action(raw, route),
            resource=kmock.resource(route.group, route.version, route.plural)
            if route is not None and route.plural else None,
            namespace=route.namespace if route else None,
            name=route.name if route else None,
            subresource=route.subresource if route else None,
        )
        self._requests.append(request)
        try:
            if self._payloads:  # reactions a test added with kmock's DSL take precedence
                with contextlib.suppress(NotImplementedError):
                    return await kmock.RawHandler._handle(cast(kmock.RawHandler, self), request)
            return await self._dispatch(raw, route, body)
        except ApiError as exc:
            return _error(exc)
        except kmock.KubernetesError as exc:  # raised by a test's kmock reaction
            return _error(ApiError(exc.status, exc.reason or "InternalError", exc.message or repr(exc)))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            self.internal_errors.append(traceback.format_exc())
            return _error(ApiError(500, "InternalError", f"emulator error: {exc!r}"))

    async def _dispatch(self, raw: web.BaseRequest, route: _Route | None, body: bytes) -> web.StreamResponse:
        path, method = raw.path, raw.method
        content_type = raw.headers.get("Content-Type", "").split(";")[0].strip().lower()
        accept = raw.headers.get("Accept", "")
        if path.startswith("/openapi/"):
            return self._openapi(path, accept)
        if accept and not any(t in accept for t in ("json", "*/*", "yaml", "text/plain")):
            raise ApiError(406, "NotAcceptable", f"only application/json is served, not {accept}")
        if path.rstrip("/") == "/version":
            return _json(discovery.SERVER_VERSION)
        if path.rstrip("/") in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path.rstrip("/") == "/api":
            return _json(discovery.api_versions(f"127.0.0.1:{self._port}"))
        if path.rstrip("/") == "/apis":
            return _json(discovery.api_group_list(self.store))
        if path == "/":
            return _json({"paths": ["/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3", "/version"]})
        segs = path.strip("/").split("/")
        if len(segs) == 2 and segs[0] == "apis":
            doc = discovery.api_group(self.store, segs[1])
            if doc is None:
                raise _not_served()
            return _json(doc)
        if route is None:
            raise _not_served()
        if route.plural is None:
            doc = discovery.api_resource_list(self.store, route.group, route.version)
            if doc is None:
                raise _not_served()
            return _json(doc)
        rt = self.store.resolve(route.group, route.version, route.plural)
        if rt is None or (route.namespace is not None and not rt.namespaced):
            raise _not_served()
        return await self._serve_resource(raw, route, rt, method, body, content_type)

    def _openapi(self, path: str, accept: str) -> web.Response:
        if path.rstrip("/") == "/openapi/v2":
            if "protobuf" in accept:
                return web.Response(body=discovery.openapi_v2_protobuf(),
                                    content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            return _json(discovery.openapi_v2_json())
        if path.rstrip("/") == "/openapi/v3":
            return _json(discovery.openapi_v3_root(self.store))
        rest = path[len("/openapi/v3/"):].strip("/").split("/")
        doc = None
        if len(rest) == 2 and rest[0] == "api":
            doc = discovery.openapi_v3_group_version(self.store, "", rest[1])
        elif len(rest) == 3 and rest[0] == "apis":
            doc = discovery.openapi_v3_group_version(self.store, rest[1], rest[2])
        if doc is None:
            raise _not_served()
        return _json(doc)

    async def _serve_resource(
        self, raw: web.BaseRequest, route: _Route, rt: ResourceType, method: str, body: bytes, content_type: str
    ) -> web.StreamResponse:
        q = raw.query
        ns = route.namespace if rt.namespaced else None
        name, sub = route.name, route.subresource
        if rt.plural == "namespaces" and name:
            ns = None
        dry_run = "All" in q.getall("dryRun", [])
        manager = q.get("fieldManager") or raw.headers.get("User-Agent", "unknown").split("/")[0] or "unknown"
        if sub in ("proxy",) and name and rt.plural in ("services", "pods", "nodes"):
            if ns is None:
                raise _not_served()
            assert self._session is not None
            return await streams.proxy(raw, self._session, self.backends, self.store, rt, ns, name, route.tail)
        if sub == "log" and rt.plural == "pods" and name and ns and method == "GET":
            assert self._stopping is not None
            return await streams.logs(raw, self.store, rt, self.pod_logs, ns, name, self._stopping)
        if sub == "portforward" and rt.plural == "pods" and name and ns:
            return await streams.portforward(raw, self.store, rt, self.backends, ns, name)
        if sub in ("exec", "attach"):
            raise ApiError(400, "BadRequest", f"{sub} is not supported by the emulator")
        if sub == "scale":
            return self._scale(raw, rt, ns, name or "", method, body, content_type, manager, dry_run)
        if sub == "eviction" and rt.plural == "pods" and method == "POST" and name:
            self.store.delete(rt, ns, name)
            return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}, 201)
        if sub not in (None, "status", "finalize") or route.tail:
            raise _not_served()
        subresource = sub or ""
        if subresource == "finalize":
            subresource = ""
        watch = route.watch or q.get("watch") in ("true", "1")
        try:
            matcher = selector_matcher(q.get("labelSelector"), q.get("fieldSelector"))
        except SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        if method == "GET" and watch:
            if name:
                by_name = selector_matcher(None, f"metadata.name={name}")
                inner = matcher
                matcher = lambda obj: by_name(obj) and inner(obj)  # noqa: E731
            return await self._http_watch(raw, rt, ns, matcher)
        if method == "GET" and not name:
            return self._http_list(raw, rt, ns, matcher)
        if method == "GET":
            return _json(self.store.get(rt, ns, name or ""))
        if method == "POST" and not name:
            created = self.store.create(rt, ns, _parse_body(body, content_type), manager=manager, dry_run=dry_run)
            return _json(created, 201)
        if method == "DELETE" and not name:
            return self._delete_collection(rt, ns, matcher, raw, body, dry_run)
        if not name:
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {rt.qualified}")
        if method == "PUT":
            replacement = _parse_body(body, content_type)
            self.store._check_body(rt, replacement)
            return _json(self.store.update(rt, ns, name, lambda _old: copy.deepcopy(replacement),
                                           manager=manager, subresource=subresource, dry_run=dry_run))
        if method == "PATCH":
            return self._patch(raw, rt, ns, name, body, content_type, manager, subresource, dry_run)
        if method == "DELETE":
            options = _parse_body(body, content_type or "application/json") if body else {}
            options = options if isinstance(options, dict) else {}
            propagation = q.get("propagationPolicy") or options.get("propagationPolicy")
            if options.get("orphanDependents") is True:
                propagation = "Orphan"
            dry = dry_run or "All" in (options.get("dryRun") or [])
            result = self.store.delete(rt, ns, name, propagation=propagation, dry_run=dry,
                                       preconditions=options.get("preconditions"))
            lingering = result.get("kind") != "Status" and (result.get("metadata") or {}).get("deletionTimestamp")
            return _json(result, 202 if lingering and not dry else 200)
        raise ApiError(405, "MethodNotAllowed", f"method {method} is not allowed")

    def _patch(
        self, raw: web.BaseRequest, rt: ResourceType, ns: str | None, name: str, body: bytes,
        content_type: str, manager: str, subresource: str, dry_run: bool,
    ) -> web.Response:
        patch_type = _PATCH_TYPES.get(content_type)
        if patch_type is None or (patch_type == "strategic" and rt.group not in BUILTIN_GROUPS):
            accepted = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            if rt.group in BUILTIN_GROUPS:
                accepted += ", application/strategic-merge-patch+json"
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                           f"accepted media types include: {accepted}")
        document = _parse_body(body, content_type)
        if patch_type == "apply":
            if not raw.query.get("fieldManager"):
                raise ApiError(400, "BadRequest", "PATCH requests with apply content type need fieldManager")
            force = raw.query.get("force") in ("true", "1")
            result, created = self.store.apply(rt, ns, name, document, manager=manager, force=force,
                                               subresource=subresource, dry_run=dry_run)
            return _json(result, 201 if created else 200)
        return _json(self.store.update(rt, ns, name, patcher(patch_type, document), manager=manager,
                                       subresource=subresource, dry_run=dry_run))

    def _scale(
        self, raw: web.BaseRequest, rt: ResourceType, ns: str | None, name: str, method: str,
        body: bytes, content_type: str, manager: str, dry_run: bool,
    ) -> web.Response:
        if "scale" not in rt.subresources:
            raise _not_served()

        def as_scale(obj: dict[str, Any]) -> dict[str, Any]:
            meta = obj["metadata"]
            selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            return {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                   "creationTimestamp") if k in meta},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in selector.items())},
            }

        if method == "GET":
            return _json(as_scale(self.store.get(rt, ns, name)))
        if method not in ("PUT", "PATCH"):
            raise ApiError(405, "MethodNotAllowed", "scale supports get, update and patch")
        document = _parse_body(body, content_type)

        def mutate(obj: dict[str, Any]) -> dict[str, Any]:
            scale = as_scale(obj)
            if method == "PUT":
                scale = document
            else:
                scale = patcher(_PATCH_TYPES.get(content_type, "merge"), document)(scale)
            replicas = (scale.get("spec") or {}).get("replicas")
            obj.setdefault("spec", {})["replicas"] = replicas
            return obj

        return _json(as_scale(self.store.update(rt, ns, name, mutate, manager=manager, dry_run=dry_run)))

    def _delete_collection(
        self, rt: ResourceType, ns: str | None, matcher: Callable[[dict[str, Any]], bool],
        raw: web.BaseRequest, body: bytes, dry_run: bool,
    ) -> web.Response:
        options = _parse_body(body, raw.headers.get("Content-Type", "application/json")) if body else {}
        propagation = raw.query.get("propagationPolicy") or (options or {}).get("propagationPolicy")
        for obj in self.store.select(rt, ns, matcher):
            meta = obj["metadata"]
            with contextlib.suppress(ApiError):
                self.store.delete(rt, meta.get("namespace"), meta["name"], propagation=propagation,
                                  dry_run=dry_run)
        return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})

    def _http_list(
        self, raw: web.BaseRequest, rt: ResourceType, ns: str | None, matcher: Callable[[dict[str, Any]], bool]
    ) -> web.Response:
        items = self.store.select(rt, ns, matcher)
        meta: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        offset = 0
        token = raw.query.get("continue")
        if token:
            try:
                offset = int(json.loads(urllib.parse.unquote(token))["offset"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ApiError(400, "BadRequest", "invalid continue token") from exc
        limit = int(raw.query.get("limit") or 0)
        if limit > 0 and offset + limit < len(items):
            meta["continue"] = json.dumps({"offset": offset + limit})
            meta["remainingItemCount"] = len(items) - offset - limit
            items = items[offset : offset + limit]
        else:
            items = items[offset:]
        return _json({"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": items})

    async def _http_watch(
        self, raw: web.BaseRequest, rt: ResourceType, ns: str | None, matcher: Callable[[dict[str, Any]], bool]
    ) -> web.StreamResponse:
        q = raw.query
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        rv_param = q.get("resourceVersion")
        send_initial = q.get("sendInitialEvents") == "true"
        watcher = self.store.subscribe(rt)
        try:
            initial: list[dict[str, Any]] = []
            gone = False
            if send_initial or rv_param in (None, "", "0"):
                initial = [{"type": "ADDED", "object": o} for o in self.store.select(rt, ns, matcher)]
                if send_initial:
                    initial.append({"type": "BOOKMARK", "object": {
                        "kind": rt.kind, "apiVersion": rt.api_version,
                        "metadata": {"resourceVersion": str(self.store.rv),
                                     "annotations": {"k8s.io/initial-events-end": "true"}}}})
            else:
                try:
                    since = int(str(rv_param))
                except ValueError as exc:
                    raise ApiError(400, "BadRequest", f"invalid resource version: {rv_param}") from exc
                events = self.store.events_since(rt, since)
                if events is None:
                    gone = True
                else:
                    initial = [e for e in (_watch_event(ev, rt, ns, matcher) for ev in events) if e]
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(raw)
            if gone:
                status = ApiError(410, "Expired", f"too old resource version: {rv_param} ({self.store.rv})")
                await response.write(json.dumps({"type": "ERROR", "object": status.status()}).encode() + b"\n")
                await response.write_eof()
                return response
            with contextlib.suppress(ConnectionResetError):  # the client went away
                await self._stream_events(response, watcher, initial, timeout, rt, ns, matcher)
            return response
        finally:
            self.store.unsubscribe(watcher)

    async def _stream_events(
        self,
        response: web.StreamResponse,
        watcher: Watcher,
        initial: list[dict[str, Any]],
        timeout: float | None,
        rt: ResourceType,
        ns: str | None,
        matcher: Callable[[dict[str, Any]], bool],
    ) -> None:
        for item in initial:
            await response.write(json.dumps(item).encode() + b"\n")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout is not None else None
        while True:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            try:
                event = await asyncio.wait_for(watcher.queue.get(), remaining)
            except TimeoutError:
                break
            if event is None:
                break
            out = _watch_event(event, rt, ns, matcher)
            if out is not None:
                await response.write(json.dumps(out).encode() + b"\n")
        await response.write_eof()



def _watch_event(
    event: Event, rt: ResourceType, ns: str | None, matcher: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    def visible(obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        return (ns is None or obj["metadata"].get("namespace") == ns) and matcher(obj)

    now, before = visible(event.obj), visible(event.prev) if event.type == "MODIFIED" else False
    if event.type == "MODIFIED":
        etype = "MODIFIED" if now and before else "ADDED" if now else "DELETED" if before else None
    else:
        etype = event.type if now else None
    if etype is None:
        return None
    return {"type": etype, "object": present(event.obj, rt)}

def _not_served() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def _loads_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _action(raw: web.BaseRequest, route: _Route | None) -> enums.action | None:
    if route is None or route.plural is None:
        return None
    if raw.method == "GET" and (route.watch or raw.query.get("watch") in ("true", "1")):
        return enums.action.WATCH
    if route.name is None:
        return {"GET": enums.action.LIST, "POST": enums.action.CREATE}.get(raw.method)
    return {"GET": enums.action.FETCH, "PATCH": enums.action.UPDATE, "PUT": enums.action.UPDATE,
            "DELETE": enums.action.DELETE}.get(raw.method)


def _parse_body(body: bytes, content_type: str) -> Any:
    if not body:
        raise ApiError(400, "BadRequest", "the request requires a body")
    try:
        if "protobuf" in content_type:
            return protobuf.decode(body)
        if content_type in _YAML_TYPES:
            return yaml.safe_load(body)
        return json.loads(body)
    except protobuf.ProtobufError as exc:
        raise ApiError(415, "UnsupportedMediaType", f"{exc}; the emulator accepts application/json "
                       "and application/yaml") from exc
    except (ValueError, yaml.YAMLError) as exc:
        raise ApiError(400, "BadRequest", f"the body cannot be decoded: {exc}") from exc


def patcher(patch_type: str, document: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A mutation applying a `merge`, `strategic` or `json` patch (errors become 422)."""

    def apply(obj: dict[str, Any]) -> dict[str, Any]:
        try:
            if patch_type == "json":
                return patching.json_patch(obj, document)  # type: ignore[no-any-return]
            if not isinstance(document, dict):
                raise patching.PatchError("a merge patch must be a map")
            if patch_type == "merge":
                return patching.merge_patch(obj, document)  # type: ignore[no-any-return]
            if patch_type == "strategic":
                return patching.strategic_merge(obj, document)  # type: ignore[no-any-return]
        except patching.PatchError as exc:
            raise ApiError(422, "Invalid", str(exc)) from exc
        raise ValueError(f"unknown patch type {patch_type!r}")

    return apply


