"""`FaultProxy`: a loopback HTTP proxy that injects faults between a client and an API server.

Design:

* It reads an *upstream* kubeconfig (server URL plus CA, client certificate/key, token or basic
  auth; the tier-3 cluster uses TLS client certificates, the emulator plain HTTP with a token) and
  writes a *new* kubeconfig that points the client at `http://127.0.0.1:PORT` with no
  credentials. The proxy adds the upstream TLS and credentials itself, so the client under test
  needs no certificates and faults are injected on plain HTTP where they are easy to shape.
* It works at the HTTP level (aiohttp server and client on a background thread with its own
  loop) rather than TCP: faults can target one request by method, path and occurrence, answer with
  a well-formed Kubernetes `Status`, and count watch events. Responses are streamed chunk by
  chunk, so watches stay live. WebSocket upgrades (the Python client's exec/port-forward) are
  relayed; SPDY upgrades are not (aiohttp cannot hand over the raw socket).
* Faults are rules: a `Fault` plus a matcher (method, path regex searched in the path with its
  query, watch or not), a schedule (`nth`: which matching occurrences, 1-based; `times`: how many
  injections at most) and a `probability` drawn from a seeded RNG, so random runs replay exactly.
  Several rules can hit one request; they act in the order they were added.

Binds 127.0.0.1 port 0 only.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import json
import random
import re
import ssl
import tempfile
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
import yarl
from aiohttp import web

CALL_TIMEOUT = 2.0
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
        "authorization",
    }
)
_REASONS = {
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}


# ---------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """Base class of the faults a rule injects."""

    @property
    def label(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class Latency(Fault):
    """Delay the request by `seconds` (+ up to `jitter`, seeded) before forwarding it; with
    `per_chunk`, also delay every response chunk (each watch event pays a round trip)."""

    seconds: float
    jitter: float = 0.0
    per_chunk: bool = False


@dataclass(frozen=True)
class ErrorStatus(Fault):
    """Answer with `code` and a Kubernetes `Status` body (optionally `Retry-After`)."""

    code: int = 503
    retry_after: int | None = None
    message: str | None = None

    @property
    def label(self) -> str:
        return f"ErrorStatus({self.code})"


def too_many_requests(retry_after: int = 1) -> ErrorStatus:
    return ErrorStatus(429, retry_after=retry_after, message="Too many requests, please try again later.")


@dataclass(frozen=True)
class Reset(Fault):
    """Abort the TCP connection: before any response, or right after the headers."""

    after_headers: bool = False


@dataclass(frozen=True)
class SlowBody(Fault):
    """Trickle the response body: `chunk_size` bytes, then `delay` seconds, repeatedly."""

    chunk_size: int = 64
    delay: float = 0.02


@dataclass(frozen=True)
class DropWatch(Fault):
    """End a streamed response after `after_events` lines (watch events) or `after_seconds`:
    cleanly (the client sees the watch end) or, with `reset`, by aborting the connection."""

    after_events: int | None = None
    after_seconds: float | None = None
    reset: bool = False


@dataclass(frozen=True)
class Hold(Fault):
    """Hold the request until the test calls `FaultProxy.release()`, then forward it."""


@dataclass
class Rule:
    fault: Fault
    method: str | None = None
    path: re.Pattern[str] | None = None
    nth: frozenset[int] | None = None
    times: int | None = None
    probability: float = 1.0
    watch: bool | None = None
    seen: int = 0
    injected: int = 0

    def matches(self, method: str, target: str, is_watch: bool) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.watch is not None and self.watch != is_watch:
            return False
        return self.path is None or self.path.search(target) is not None


@dataclass(frozen=True)
class ProxiedRequest:
    method: str
    target: str
    faults: tuple[str, ...]
    status: int | None = None


# ---------------------------------------------------------------- upstream


@dataclass
class Upstream:
    server: str
    ssl: ssl.SSLContext | bool
    headers: dict[str, str] = field(default_factory=dict)
    context: str = "faultproxy"
    namespace: str | None = None


def _material(base: Path, workdir: Path, entry: dict[str, Any], key: str, name: str) -> str | None:
    """A file path for a kubeconfig `<key>` or `<key>-data` entry (data is written 0600)."""
    if entry.get(f"{key}-data"):
        target = workdir / name
        target.write_bytes(base64.b64decode(entry[f"{key}-data"]))
        target.chmod(0o600)
        return str(target)
    if entry.get(key):
        path = Path(entry[key])
        return str(path if path.is_absolute() else base / path)
    return None


def load_upstream(kubeconfig: Path, context: str | None, workdir: Path) -> Upstream:
    config = yaml.safe_load(kubeconfig.read_text()) or {}
    name = context or config.get("current-context")

    def find(section: str, wanted: str | None) -> dict[str, Any]:
        for item in config.get(section) or []:
            if item.get("name") == wanted:
                return dict(item.get(section[:-1]) or {})
        raise ValueError(f"{kubeconfig}: no {section[:-1]} named {wanted!r}")

    ctx = find("contexts", name)
    cluster = find("clusters", ctx.get("cluster"))
    user = find("users", ctx.get("user")) if ctx.get("user") else {}
    base = kubeconfig.parent
    server = str(cluster["server"]).rstrip("/")
    ssl_ctx: ssl.SSLContext | bool = False
    if server.startswith("https://"):
        cafile = _material(base, workdir, cluster, "certificate-authority", "ca.crt")
        ssl_ctx = ssl.create_default_context(cafile=cafile)
        if cluster.get("insecure-skip-tls-verify"):
            ssl_ctx.check_hostname = False
            ssl_ctx.verify_mode = ssl.CERT_NONE
        cert = _material(base, workdir, user, "client-certificate", "client.crt")
        key = _material(base, workdir, user, "client-key", "client.key")
        if cert:
            ssl_ctx.load_cert_chain(cert, key)
    headers: dict[str, str] = {}
    if user.get("token"):
        headers["Authorization"] = f"Bearer {user['token']}"
    elif user.get("tokenFile"):
        headers["Authorization"] = f"Bearer {Path(base, user['tokenFile']).read_text().strip()}"
    elif user.get("username"):
        pair = f"{user['username']}:{user.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif user.get("exec") or user.get("auth-provider"):
        raise ValueError("FaultProxy cannot run exec or auth-provider credential plugins")
    return Upstream(server, ssl_ctx, headers, str(name or "faultproxy"), ctx.get("namespace"))


# ---------------------------------------------------------------- the proxy


class FaultProxy:
    """See the module docstring. Use as a context manager or `start()`/`stop()`."""

    def __init__(
        self,
        upstream_kubeconfig: Path | str,
        *,
        context: str | None = None,
        workdir: Path | str | None = None,
        seed: int = 0,
    ) -> None:
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="faultproxy-")
            workdir = self._tempdir.name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.upstream = load_upstream(Path(upstream_kubeconfig), context, self.workdir)
        self.rules: list[Rule] = []
        self.log: list[ProxiedRequest] = []
        self._arrived = 0
        self.kubeconfig: Path | None = None
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._held_cond = threading.Condition()
        self._held: list[asyncio.Future[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: web.Server | None = None
        self._tcp: asyncio.AbstractServer | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port = 0

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("the proxy is not running")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FaultProxy:
        if self._thread is not None:
            raise RuntimeError("the proxy is already running")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faultproxy", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._astart(), self._loop).result(CALL_TIMEOUT)
        self.kubeconfig = self._write_kubeconfig(self.workdir / "faultproxy.kubeconfig")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        try:
            self.release()
            asyncio.run_coroutine_threadsafe(self._astop(), self._loop).result(CALL_TIMEOUT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CALL_TIMEOUT)
            self._loop.close()
            self._loop = self._thread = None
            if self._tempdir is not None:
                self._tempdir.cleanup()

    def __enter__(self) -> FaultProxy:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _astart(self) -> None:
        connector = aiohttp.TCPConnector(ssl=self.upstream.ssl, limit=0)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
        )
        self._server = web.Server(self._handle)
        self._tcp = await asyncio.get_running_loop().create_server(self._server, "127.0.0.1", 0)
        self._port = self._tcp.sockets[0].getsockname()[1]

    async def _astop(self) -> None:
        assert self._server is not None and self._tcp is not None and self._session is not None
        self._tcp.close()
        for connection in self._server.connections:  # idle keep-alives would wait out the timeout
            connection.force_close()
        await self._server.shutdown(0.1)
        await self._tcp.wait_closed()
        await self._session.close()
        # Handlers still running (a held or slow request) would die with the loop: end them now.
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def _write_kubeconfig(self, path: Path) -> Path:
        context: dict[str, Any] = {"cluster": "faultproxy", "user": "faultproxy"}
        if self.upstream.namespace:
            context["namespace"] = self.upstream.namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "faultproxy", "cluster": {"server": self.url}}],
            "users": [{"name": "faultproxy", "user": {}}],
            "contexts": [{"name": self.upstream.context, "context": context}],
            "current-context": self.upstream.context,
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    # ------------------------------------------------------------ faults (test thread)

    def add(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path: str | re.Pattern[str] | None = None,
        nth: int | Collection[int] | None = None,
        times: int | None = None,
        probability: float = 1.0,
        watch: bool | None = None,
    ) -> Rule:
        """Inject `fault` into matching requests; returns the rule (with `seen`/`injected`)."""
        rule = Rule(
            fault=fault,
            method=method,
            path=re.compile(path) if isinstance(path, str) else path,
            nth=frozenset([nth] if isinstance(nth, int) else nth) if nth is not None else None,
            times=times,
            probability=probability,
            watch=watch,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear_faults(self) -> None:
        with self._lock:
            self.rules.clear()

    @property
    def requests_seen(self) -> int:
        """Requests that arrived (including held ones; `log` lists them once answered)."""
        with self._lock:
            return self._arrived

    @property
    def faults_injected(self) -> int:
        with self._lock:
            return sum(r.injected for r in self.rules)

    def seen(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests matched `method` and the `path` regex."""
        pattern = re.compile(path) if path else None
        with self._lock:
            return sum(
                1
                for r in self.log
                if (method is None or r.method == method.upper())
                and (pattern is None or pattern.search(r.target))
            )

    @property
    def held(self) -> int:
        with self._held_cond:
            return sum(1 for f in self._held if not f.done())

    def wait_held(self, timeout: float = 2.0, count: int = 1) -> None:
        """Block until at least `count` requests are being held; TimeoutError otherwise."""
        with self._held_cond:
            ok = self._held_cond.wait_for(
                lambda: sum(1 for f in self._held if not f.done()) >= count, timeout
            )
        if not ok:
            raise TimeoutError(f"fewer than {count} held requests after {timeout}s")

    def release(self, count: int | None = None) -> int:
        """Let held requests continue (all, or the `count` oldest); returns how many."""
        if self._loop is None:
            return 0
        done: concurrent.futures.Future[int] = concurrent.futures.Future()

        def run() -> None:
            with self._held_cond:
                waiting = [f for f in self._held if not f.done()]
                chosen = waiting if count is None else waiting[:count]
                for fut in chosen:
                    fut.set_result(None)
                self._held = [f for f in self._held if not f.done()]
            done.set_result(len(chosen))

        self._loop.call_soon_threadsafe(run)
        return done.result(CALL_TIMEOUT)

    def _select(self, method: str, target: str, is_watch: bool) -> list[Fault]:
        faults: list[Fault] = []
        with self._lock:
            self._arrived += 1
            for rule in self.rules:
                if not rule.matches(method, target, is_watch):
                    continue
                rule.seen += 1
                if rule.nth is not None and rule.seen not in rule.nth:
                    continue
                if rule.times is not None and rule.injected >= rule.times:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.injected += 1
                faults.append(rule.fault)
        return faults

    # ------------------------------------------------------------ serving (loop thread)

    def _record(self, method: str, target: str, faults: list[Fault], status: int | None) -> None:
        with self._lock:
            self.log.append(ProxiedRequest(method, target, tuple(f.label for f in faults), status))

    async def _handle(self, raw: web.BaseRequest) -> web.StreamResponse:
        body = await raw.read()
        target = raw.raw_path
        is_watch = raw.method == "GET" and raw.query.get("watch") in ("true", "1")
        faults = self._select(raw.method, target, is_watch)
        loop = asyncio.get_running_loop()
        for fault in faults:
            if isinstance(fault, Hold):
                future: asyncio.Future[None] = loop.create_future()
                with self._held_cond:
                    self._held.append(future)
                    self._held_cond.notify_all()
                await future
            elif isinstance(fault, Latency):
                await asyncio.sleep(fault.seconds + self._jitter(fault))
            elif isinstance(fault, ErrorStatus):
                self._record(raw.method, target, faults, fault.code)
                return self._status_response(fault)
            elif isinstance(fault, Reset) and not fault.after_headers:
                self._record(raw.method, target, faults, None)
                self._abort(raw)
                return web.Response(status=500)
        if raw.headers.get("Upgrade", "").lower() == "websocket":
            self._record(raw.method, target, faults, 101)
            return await self._relay_websocket(raw, target)
        return await self._forward(raw, target, body, faults)

    def _jitter(self, fault: Latency) -> float:
        if not fault.jitter:
            return 0.0
        with self._lock:
            return self._rng.uniform(0, fault.jitter)

    @staticmethod
    def _abort(raw: web.BaseRequest) -> None:
        if raw.transport is not None:
            raw.transport.abort()

    @staticmethod
    def _status_response(fault: ErrorStatus) -> web.Response:
        reason = _REASONS.get(fault.code, "InternalError")
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": fault.message or f"fault injected by FaultProxy: {fault.code}",
            "reason": reason,
            "code": fault.code,
        }
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
            body["details"] = {"retryAfterSeconds": fault.retry_after}
        return web.Response(
            body=json.dumps(body).encode(), status=fault.code, content_type="application/json", headers=headers
        )

    def _upstream_headers(self, raw: web.BaseRequest) -> dict[str, str]:
        headers = {k: v for k, v in raw.headers.items() if k.lower() not in HOP_BY_HOP}
        headers.update(self.upstream.headers)
        return headers

    async def _forward(
        self, raw: web.BaseRequest, target: str, body: bytes, faults: list[Fault]
    ) -> web.StreamResponse:
        assert self._session is not None
        url = yarl.URL(self.upstream.server + target, encoded=True)
        slow = next((f for f in faults if isinstance(f, SlowBody)), None)
        drop = next((f for f in faults if isinstance(f, DropWatch)), None)
        reset = next((f for f in faults if isinstance(f, Reset) and f.after_headers), None)
        per_chunk = [f for f in faults if isinstance(f, Latency) and f.per_chunk]
        try:
            upstream = await self._session.request(
                raw.method, url, headers=self._upstream_headers(raw), data=body or None, allow_redirects=False
            )
        except aiohttp.ClientError as exc:
            self._record(raw.method, target, faults, 502)
            return self._status_response(ErrorStatus(502, message=f"FaultProxy: upstream failed: {exc}"))
        self._record(raw.method, target, faults, upstream.status)
        async with upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            reshaped = slow is not None or drop is not None or reset is not None
            for key, value in upstream.headers.items():
                if key.lower() in HOP_BY_HOP or (reshaped and key.lower() == "content-length"):
                    continue
                response.headers.add(key, value)
            await response.prepare(raw)
            if reset is not None:
                self._abort(raw)
                return response
            loop = asyncio.get_running_loop()
            deadline = loop.time() + drop.after_seconds if drop and drop.after_seconds is not None else None
            lines = 0
            chunks = upstream.content.iter_any().__aiter__()
            while True:
                wait = None if deadline is None else max(0.0, deadline - loop.time())
                try:
                    chunk = await asyncio.wait_for(chunks.__anext__(), wait)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    return await self._drop(raw, response, drop)
                for latency in per_chunk:
                    await asyncio.sleep(latency.seconds + self._jitter(latency))
                if drop is not None and drop.after_events is not None:
                    cut = _cut_after_lines(chunk, drop.after_events - lines)
                    lines += chunk.count(b"\n")
                    if cut is not None:
                        await self._write(response, cut, slow)
                        return await self._drop(raw, response, drop)
                await self._write(response, chunk, slow)
            await response.write_eof()
            return response

    @staticmethod
    async def _write(response: web.StreamResponse, chunk: bytes, slow: SlowBody | None) -> None:
        if slow is None:
            await response.write(chunk)
            return
        for start in range(0, len(chunk), slow.chunk_size):
            await response.write(chunk[start : start + slow.chunk_size])
            await asyncio.sleep(slow.delay)

    async def _drop(
        self, raw: web.BaseRequest, response: web.StreamResponse, drop: DropWatch | None
    ) -> web.StreamResponse:
        if drop is not None and drop.reset:
            self._abort(raw)
        else:
            await response.write_eof()
        return response

    async def _relay_websocket(self, raw: web.BaseRequest, target: str) -> web.StreamResponse:
        assert self._session is not None
        protocols = [p.strip() for p in raw.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        url = yarl.URL(self.upstream.server.replace("http", "ws", 1) + target, encoded=True)
        try:
            upstream = await self._session.ws_connect(url, protocols=protocols, headers=self.upstream.headers)
        except aiohttp.WSServerHandshakeError as exc:
            return self._status_response(ErrorStatus(exc.status, message=f"upstream refused the upgrade: {exc}"))
        async with upstream:
            client = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else (), timeout=2.0)
            await client.prepare(raw)

            async def pump(source: Any, sink: Any) -> None:
                async for message in source:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        await sink.send_bytes(message.data)
                    elif message.type == aiohttp.WSMsgType.TEXT:
                        await sink.send_str(message.data)
                await sink.close()

            tasks = [asyncio.create_task(pump(upstream, client)), asyncio.create_task(pump(client, upstream))]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await asyncio.gather(*tasks, return_exceptions=True)
            await client.close()
            return client


def _cut_after_lines(chunk: bytes, remaining: int) -> bytes | None:
    """The prefix of `chunk` ending at its `remaining`-th newline, or None if it has fewer."""
    if remaining <= 0:
        return b""
    position = -1
    for _ in range(remaining):
        position = chunk.find(b"\n", position + 1)
        if position < 0:
            return None
    return chunk[: position + 1]
