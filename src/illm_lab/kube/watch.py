"""Following objects through list + watch, resuming where a dropped watch left off.

Readiness is event-driven: `observe` lists the object once (which gives a resourceVersion), then
watches from that version and yields the object each time it changes, so a status change made by
a controller reaches the caller within one event's delivery time — no polling interval. A watch
the server closes (its `timeoutSeconds`), a reset connection or a read timeout is resumed from
the last resourceVersion seen (bookmarks included); a `410 Gone` ("too old") relists. The deadline
is enforced by the socket's read timeout and the server-side `timeoutSeconds`, never by sleeping.
`observe_many` does the same for every object a label or field selector matches (the pods of a
workload, the Warning events of a namespace) and yields each change with its type.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import urllib3

from illm_lab.kube import errors
from illm_lab.kube.resources import Resource
from illm_lab.kube.retry import RetryPolicy
from illm_lab.kube.transport import Transport

MAX_WATCH_SECONDS = 300


class Cancel:
    """Ends `observe` generators early from another thread: sets a flag and shuts down the
    sockets of their open watches, so a read blocked on an idle watch returns at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._streams: set[urllib3.BaseHTTPResponse] = set()
        self._children: weakref.WeakSet[Cancel] = weakref.WeakSet()

    def set(self) -> None:
        with self._lock:
            self._event.set()
            streams = list(self._streams)
            children = list(self._children)
        for stream in streams:
            _shutdown(stream)
        for child in children:
            child.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def child(self) -> Cancel:
        """A Cancel that is set with this one, and can be set on its own without setting this
        one: the watches of one wait, ended when the wait is done or when all waits are."""
        sub = Cancel()
        with self._lock:
            self._children.add(sub)
            cancelled = self._event.is_set()
        if cancelled:
            sub.set()
        return sub

    def track(self, stream: urllib3.BaseHTTPResponse) -> None:
        with self._lock:
            self._streams.add(stream)
            cancelled = self._event.is_set()
        if cancelled:
            _shutdown(stream)

    def untrack(self, stream: urllib3.BaseHTTPResponse) -> None:
        with self._lock:
            self._streams.discard(stream)


def _shutdown(stream: urllib3.BaseHTTPResponse) -> None:
    """Shut a watch's socket for reading; a stream its reader closed meanwhile (urllib3 then
    says ValueError or RuntimeError) needs nothing more."""
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        stream.shutdown()


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


def observe(
    transport: Transport,
    resource: Resource,
    name: str,
    namespace: str | None,
    *,
    deadline: float,
    cancel: Cancel | None = None,
) -> Iterator[dict[str, Any] | None]:
    """Yield the object (None while absent) now and after every change, until `deadline`
    (a `time.monotonic()` value) or `cancel`; then return."""
    path = resource.path(namespace)
    selector = f"metadata.name={name}"
    what = f"{resource.kind} {namespace + '/' if namespace else ''}{name}"
    rv: str | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (cancel is not None and cancel.is_set()):
            return
        if rv is None:
            items, rv = _list(transport, path, {"fieldSelector": selector}, what, remaining)
            items = [i for i in items if _name(i) == name]
            yield _with_kind(items[0], resource) if items else None
            continue
        query = {"fieldSelector": selector, **_watch_query(rv, remaining)}
        try:
            for event in _watch(transport, path, query, what, deadline, cancel):
                kind, obj = event.get("type"), event.get("object") or {}
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                if kind == "BOOKMARK" or _name(obj) != name:
                    continue
                yield None if kind == "DELETED" else _with_kind(obj, resource)
        except _Expired:
            rv = None


def observe_many(
    transport: Transport,
    resource: Resource,
    namespace: str | None,
    *,
    label_selector: str | None = None,
    field_selector: str | None = None,
    deadline: float,
    cancel: Cancel | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield `(type, object)` — type ADDED, MODIFIED or DELETED — for every object the
    selectors match: each one the first list finds, then each change, until `deadline` or
    `cancel`. After a relist (410 Gone) objects that went away meanwhile come as DELETED."""
    path = resource.path(namespace)
    selectors = {"labelSelector": label_selector, "fieldSelector": field_selector}
    what = f"{resource.kind} list{' in ' + namespace if namespace else ''}"
    known: dict[str, dict[str, Any]] = {}  # namespace/name -> the object's metadata
    rv: str | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (cancel is not None and cancel.is_set()):
            return
        if rv is None:
            items, rv = _list(transport, path, selectors, what, remaining)
            yield from _resync(known, [_with_kind(i, resource) for i in items], resource)
            continue
        query = {**selectors, **_watch_query(rv, remaining)}
        try:
            for event in _watch(transport, path, query, what, deadline, cancel):
                kind, obj = str(event.get("type")), event.get("object") or {}
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                if kind not in ("ADDED", "MODIFIED", "DELETED"):
                    continue
                if kind == "DELETED":
                    known.pop(_key(obj), None)
                else:
                    known[_key(obj)] = dict(obj.get("metadata") or {})
                yield kind, _with_kind(obj, resource)
        except _Expired:
            rv = None


def _resync(
    known: dict[str, dict[str, Any]], items: list[dict[str, Any]], resource: Resource
) -> Iterator[tuple[str, dict[str, Any]]]:
    """What a (re)list changed against what the caller was told before."""
    before = dict(known)
    known.clear()
    for item in items:
        key = _key(item)
        known[key] = dict(item.get("metadata") or {})
        yield ("MODIFIED" if key in before else "ADDED"), item
    for key, meta in before.items():
        if key not in known:
            yield "DELETED", _with_kind({"metadata": meta}, resource)


def _list(
    transport: Transport, path: str, query: dict[str, Any], what: str, remaining: float
) -> tuple[list[dict[str, Any]], str]:
    data = transport.request(
        "GET", path, query=query, ref=what, policy=RetryPolicy(budget=max(0.1, remaining)),
        timeout=(min(5.0, remaining), max(0.1, remaining)),
    ).json() or {}
    return list(data.get("items") or []), str((data.get("metadata") or {}).get("resourceVersion") or "0")


def _watch_query(rv: str, remaining: float) -> dict[str, Any]:
    return {
        "watch": "true", "resourceVersion": rv, "allowWatchBookmarks": "true",
        "timeoutSeconds": max(1, min(MAX_WATCH_SECONDS, math.ceil(remaining))),
    }


def _watch(
    transport: Transport, path: str, query: dict[str, Any], what: str, deadline: float,
    cancel: Cancel | None,
) -> Iterator[dict[str, Any]]:
    """The events of one watch request, until the server, the network or `cancel` ends it.
    Raises `_Expired` when the server says the resourceVersion is too old."""
    try:
        stream = transport.stream(path, query=query, read_timeout=deadline - time.monotonic(), ref=what)
    except errors.Gone:
        raise _Expired from None
    except errors.Unreachable:
        # The server went away mid-wait: back off briefly, then the caller resumes from its rv.
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        return
    if cancel is not None:
        cancel.track(stream)
    try:
        for event in _events(stream):
            if event.get("type") == "ERROR":
                obj = event.get("object") or {}
                if obj.get("code") == 410:
                    raise _Expired
                raise errors.from_status(int(obj.get("code") or 500), json.dumps(obj).encode(), ref=what)
            yield event
    except (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ProtocolError, OSError):
        pass  # dropped or idle until the deadline: resume from rv (or return, if expired)
    finally:
        if cancel is not None:
            cancel.untrack(stream)
        stream.close()  # a half-read stream must not go back into the pool as is
        stream.release_conn()


def _events(stream: urllib3.BaseHTTPResponse) -> Iterator[dict[str, Any]]:
    buffer = b""
    for chunk in stream.stream(65536, decode_content=True):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)
    if buffer.strip():
        yield json.loads(buffer)


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def _with_kind(obj: dict[str, Any], resource: Resource) -> dict[str, Any]:
    """List items carry no apiVersion/kind; give every yielded object its identity back."""
    obj.setdefault("apiVersion", resource.api_version)
    obj.setdefault("kind", resource.kind)
    return obj
