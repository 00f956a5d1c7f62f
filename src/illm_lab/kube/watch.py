"""Following one object through list + watch, resuming where a dropped watch left off.

Readiness is event-driven: `observe` lists the object once (which gives a resourceVersion), then
watches from that version and yields the object each time it changes, so a status change made by
a controller reaches the caller within one event's delivery time — no polling interval. A watch
the server closes (its `timeoutSeconds`), a reset connection or a read timeout is resumed from
the last resourceVersion seen (bookmarks included); a `410 Gone` ("too old") relists. The deadline
is enforced by the socket's read timeout and the server-side `timeoutSeconds`, never by sleeping.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
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

    def set(self) -> None:
        with self._lock:
            self._event.set()
            streams = list(self._streams)
        for stream in streams:
            with contextlib.suppress(OSError):
                stream.shutdown()

    def is_set(self) -> bool:
        return self._event.is_set()

    def track(self, stream: urllib3.BaseHTTPResponse) -> None:
        with self._lock:
            self._streams.add(stream)
            cancelled = self._event.is_set()
        if cancelled:
            with contextlib.suppress(OSError):
                stream.shutdown()

    def untrack(self, stream: urllib3.BaseHTTPResponse) -> None:
        with self._lock:
            self._streams.discard(stream)


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
            policy = RetryPolicy(budget=max(0.1, remaining))
            data = transport.request(
                "GET", path, query={"fieldSelector": selector}, ref=what, policy=policy,
                timeout=(min(5.0, remaining), max(0.1, remaining)),
            ).json() or {}
            items = [i for i in data.get("items") or [] if _name(i) == name]
            rv = str((data.get("metadata") or {}).get("resourceVersion") or "0")
            yield _with_kind(items[0], resource) if items else None
            continue
        query = {
            "watch": "true", "resourceVersion": rv, "allowWatchBookmarks": "true",
            "fieldSelector": selector,
            "timeoutSeconds": max(1, min(MAX_WATCH_SECONDS, math.ceil(remaining))),
        }
        try:
            stream = transport.stream(path, query=query, read_timeout=remaining, ref=what)
        except errors.Gone:
            rv = None
            continue
        except errors.Unreachable:
            if deadline - time.monotonic() <= 0:
                return
            # The server went away mid-wait: back off briefly, then resume from `rv`.
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            continue
        if cancel is not None:
            cancel.track(stream)
        try:
            for event in _events(stream):
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        rv = None
                        break
                    raise errors.from_status(
                        int(obj.get("code") or 500), json.dumps(obj).encode(), ref=what
                    )
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                if kind == "BOOKMARK" or _name(obj) != name:
                    continue
                yield None if kind == "DELETED" else _with_kind(obj, resource)
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


def _with_kind(obj: dict[str, Any], resource: Resource) -> dict[str, Any]:
    """List items carry no apiVersion/kind; give every yielded object its identity back."""
    obj.setdefault("apiVersion", resource.api_version)
    obj.setdefault("kind", resource.kind)
    return obj
