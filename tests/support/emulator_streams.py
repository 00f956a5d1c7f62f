"""Pod and service subresources of the emulator, served from local loopback test servers.

Why these shapes: the API server's service and pod proxies (`.../services/{name}[:port]/proxy/...`)
forward HTTP to an endpoint; here the endpoint is whatever loopback server a test registered with
`register_backend`. Pod logs are text the test set. Port-forward speaks the WebSocket channel
protocol `v4.channel.k8s.io` that the `kubernetes` Python client uses: per requested port a data
channel (2*i) and an error channel (2*i+1), each opened by a 3-byte frame carrying the port
number, then raw bytes prefixed with the channel number. kubectl's port-forward (SPDY/3.1, since
1.31 tunnelled over WebSockets as `SPDY/3.1+portforward.k8s.io`) needs an SPDY framer with
zlib-compressed headers and is not implemented: it gets a 400 explaining that.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yarl
from aiohttp import web

from tests.support.emulator_store import ApiError, ResourceType, Store

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
PORTFORWARD_PROTOCOL = "v4.channel.k8s.io"


@dataclass
class Backends:
    """Loopback servers standing in for services' endpoints and pods' ports."""

    urls: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def register(self, namespace: str, name: str, port: int | str, url: str) -> None:
        target = yarl.URL(url)
        if target.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"backends must be loopback servers, got {url!r}")
        self.urls[(namespace, name, str(port))] = url.rstrip("/")

    def find(self, namespace: str, name: str, port: str | None, obj: dict[str, Any] | None) -> str | None:
        candidates = [str(port)] if port else []
        ports = ((obj or {}).get("spec") or {}).get("ports") or []
        for p in ports:
            if not isinstance(p, dict):
                continue
            if port and str(p.get("name")) == port:
                candidates.append(str(p.get("port")))
                candidates.append(str(p.get("targetPort")))
            if port and str(p.get("port")) == port and p.get("name"):
                candidates.append(str(p["name"]))
        for candidate in candidates:
            if (namespace, name, candidate) in self.urls:
                return self.urls[(namespace, name, candidate)]
        if not port:
            mine = [u for (ns, n, _), u in self.urls.items() if ns == namespace and n == name]
            if len(mine) == 1:
                return mine[0]
            if ports and isinstance(ports[0], dict):
                return self.find(namespace, name, str(ports[0].get("port")), obj)
        return None


def split_proxy_name(segment: str) -> tuple[str, str | None]:
    """`name`, `name:port` or `scheme:name:port` into (name, port)."""
    parts = segment.split(":")
    if len(parts) == 3:
        return parts[1], parts[2] or None
    if len(parts) == 2:
        return parts[0], parts[1] or None
    return segment, None


async def proxy(
    raw: web.BaseRequest,
    session: aiohttp.ClientSession,
    backends: Backends,
    store: Store,
    rt: ResourceType,
    namespace: str,
    segment: str,
    tail: str,
) -> web.StreamResponse:
    name, port = split_proxy_name(segment)
    obj = store.live(rt, namespace, name)
    if obj is None:
        raise rt.not_found(name)
    base = backends.find(namespace, name, port, obj if rt.plural == "services" else None)
    if base is None:
        what = "service" if rt.plural == "services" else "pod"
        raise ApiError(503, "ServiceUnavailable", f'no endpoints available for {what} "{name}"')
    target = base + (tail or "/")
    if raw.query_string:
        target += "?" + raw.rel_url.raw_query_string  # as received: still percent-encoded
    headers = {k: v for k, v in raw.headers.items() if k.lower() not in HOP_BY_HOP | {"authorization"}}
    body = await raw.read()
    try:
        async with session.request(
            raw.method, yarl.URL(target, encoded=True), headers=headers, data=body or None,
            allow_redirects=False,
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    response.headers.add(key, value)
            if "Content-Type" not in upstream.headers:  # Go's server would sniff; text is close
                response.headers["Content-Type"] = "text/plain; charset=utf-8"
            await response.prepare(raw)
            with contextlib.suppress(ConnectionResetError):  # the client went away
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            return response
    except aiohttp.ClientError as exc:
        raise ApiError(503, "ServiceUnavailable", f"error trying to reach {rt.kind.lower()} "
                       f'"{name}": {exc}') from exc


@dataclass
class PodLogs:
    """Log text per (namespace, pod, container); container None is every container's default."""

    texts: dict[tuple[str, str, str | None], str] = field(default_factory=dict)
    changed: asyncio.Condition | None = None

    def set(self, namespace: str, pod: str, text: str, container: str | None, append: bool) -> None:
        key = (namespace, pod, container)
        self.texts[key] = (self.texts.get(key, "") if append else "") + text
        self.notify()

    def notify(self) -> None:
        if self.changed is None:
            return
        changed = self.changed

        async def wake() -> None:
            async with changed:
                changed.notify_all()

        asyncio.get_running_loop().create_task(wake())

    def text(self, namespace: str, pod: str, container: str) -> str:
        return self.texts.get((namespace, pod, container), self.texts.get((namespace, pod, None), ""))


def _container_names(pod: dict[str, Any], keys: Iterable[str]) -> list[str]:
    spec = pod.get("spec") or {}
    return [c.get("name", "") for key in keys for c in spec.get(key) or [] if isinstance(c, dict)]


def _render_logs(text: str, params: Any, stamp: str) -> str:
    lines = text.splitlines(keepends=True)
    if params.get("tailLines") is not None:
        count = int(params["tailLines"])
        lines = lines[-count:] if count > 0 else []
    if params.get("timestamps") == "true":
        lines = [f"{stamp} {line}" for line in lines]
    out = "".join(lines)
    if params.get("limitBytes") is not None:
        out = out.encode()[: int(params["limitBytes"])].decode(errors="ignore")
    return out


async def logs(
    raw: web.BaseRequest,
    store: Store,
    rt: ResourceType,
    pod_logs: PodLogs,
    namespace: str,
    name: str,
    stopping: asyncio.Event,
) -> web.StreamResponse:
    pod = store.live(rt, namespace, name)
    if pod is None:
        raise rt.not_found(name)
    params = raw.query
    containers = _container_names(pod, ("containers",))
    container = params.get("container")
    if not container:
        if len(containers) != 1:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, "
                           f"choose one of: [{' '.join(containers)}]")
        container = containers[0]
    elif container not in _container_names(pod, ("containers", "initContainers", "ephemeralContainers")):
        raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
    stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
    text = pod_logs.text(namespace, name, container)
    if params.get("follow") != "true":
        return web.Response(text=_render_logs(text, params, stamp), content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(raw)
    with contextlib.suppress(ConnectionResetError):  # the client went away
        await response.write(_render_logs(text, params, stamp).encode())
        sent = len(text)
        assert pod_logs.changed is not None
        while True:
            current = pod_logs.text(namespace, name, container)
            if len(current) > sent:
                chunk = current[sent:]
                sent = len(current)
                if params.get("timestamps") == "true":
                    chunk = "".join(f"{stamp} {line}" for line in chunk.splitlines(keepends=True))
                await response.write(chunk.encode())
                continue
            if stopping.is_set() or store.live(rt, namespace, name) is None:
                break
            # No await between the checks above and registering as a waiter: no lost wake-ups.
            async with pod_logs.changed:
                await pod_logs.changed.wait()
        await response.write_eof()
    return response


async def portforward(
    raw: web.BaseRequest,
    store: Store,
    rt: ResourceType,
    backends: Backends,
    namespace: str,
    name: str,
) -> web.StreamResponse:
    pod = store.live(rt, namespace, name)
    if pod is None:
        raise rt.not_found(name)
    offered = [p.strip() for p in raw.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if raw.headers.get("Upgrade", "").lower() != "websocket" or PORTFORWARD_PROTOCOL not in offered:
        raise ApiError(400, "BadRequest", "the emulator serves port-forward only over WebSockets with "
                       f"the {PORTFORWARD_PROTOCOL} protocol (the kubernetes Python client); "
                       "SPDY (kubectl port-forward) is not implemented")
    ports: list[int] = []
    for value in raw.query.getall("ports", []):
        for part in value.split(","):
            if part.strip():
                ports.append(int(part))
    if not ports:
        raise ApiError(400, "BadRequest", "query parameter ports is required")
    ws = web.WebSocketResponse(protocols=(PORTFORWARD_PROTOCOL,), timeout=2.0, autoclose=True)
    await ws.prepare(raw)
    writers: dict[int, asyncio.StreamWriter] = {}
    pumps: list[asyncio.Task[None]] = []

    async def pump(channel: int, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(65536):
            await ws.send_bytes(bytes([channel]) + chunk)
        await ws.close()

    try:
        for index, port in enumerate(ports):
            data_ch, err_ch = 2 * index, 2 * index + 1
            header = bytes([port & 0xFF, port >> 8])
            await ws.send_bytes(bytes([data_ch]) + header)
            await ws.send_bytes(bytes([err_ch]) + header)
            url = backends.find(namespace, name, str(port), None)
            target = yarl.URL(url) if url else None
            if target is None or target.host is None or target.port is None:
                error = f"error forwarding port {port} to pod {name}: no backend registered"
                await ws.send_bytes(bytes([err_ch]) + error.encode())
                continue
            reader, writer = await asyncio.open_connection(target.host, target.port)
            writers[data_ch] = writer
            pumps.append(asyncio.create_task(pump(data_ch, reader)))
        async for message in ws:
            if message.type != aiohttp.WSMsgType.BINARY or not message.data:
                continue
            data: bytes = message.data
            writer_for = writers.get(data[0])
            if writer_for is not None:
                writer_for.write(data[1:])
                await writer_for.drain()
    finally:
        for task in pumps:
            task.cancel()
        for writer in writers.values():
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await ws.close()
    return ws
