"""Port-forwards that lab manages: a listener on 127.0.0.1 whose connections reach a Service's pod.

Why our own rather than `kubectl port-forward` or the client's `kubernetes.stream.portforward`:
kubectl is a child process to find and kill (and a dependency lab otherwise does without), and it
dies with the pod it picked; the client function runs one unjoinable daemon thread per tunnel,
blocked in `select()` without a timeout and raising `RuntimeError` inside that thread. A tutorial
session must stop every tunnel on exit and on Ctrl-C and say why one failed. So we speak the same
protocol as that client function — the WebSocket subprotocol `v4.channel.k8s.io` on
`pods/<pod>/portforward?ports=<port>`: per port a data channel (0) and an error channel (1), each
opened by a frame carrying the port number (little endian), then frames of one channel byte plus
raw bytes — and open the WebSocket with the connection pool's TLS context, proxy and credentials
(see adrs/0014-lab-managed-port-forwards.md).

Shape: one acceptor thread per forward; each accepted connection gets its own WebSocket (kubectl
opens one stream pair per connection too) and one pump thread. The pod is resolved from the
Service — its selector picks a ready pod, the Service port maps to the container port — and cached;
when a WebSocket cannot be opened (the pod was deleted, a rollout replaced it) the cache is dropped
and the connection is retried once on a freshly resolved pod, so a forward outlives pod restarts.
`close()` wakes every thread through one socket pair, closes every socket and joins the threads:
nothing outlives it.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from websocket import ABNF, WebSocket, WebSocketBadStatusException, WebSocketException

from illm_lab.base.errors import ClusterError
from illm_lab.kube import errors

if TYPE_CHECKING:
    from illm_lab.kube.cluster import Cluster
    from illm_lab.kube.config import Settings

PROTOCOL = "v4.channel.k8s.io"
LOOPBACK = "127.0.0.1"
HANDSHAKE_TIMEOUT = 10.0
FRAME_TIMEOUT = 30.0  # the rest of a frame whose first bytes arrived
CHUNK = 64 * 1024
JOIN_TIMEOUT = 2.0


@dataclass(frozen=True)
class PodTarget:
    """Where connections go: a pod and the container port behind the Service port."""

    namespace: str
    pod: str
    port: int

    def __str__(self) -> str:
        return f"pod {self.namespace}/{self.pod}:{self.port}"


class PortForward:
    """`127.0.0.1:<local_port>` → Service `namespace/service:port` (a port number or name).

    Use as a context manager, or call `start()` and `close()`. `local_port=0` takes any free
    port; a requested port that is taken raises `errors.PortInUse` unless `fallback` is set,
    in which case a free port is taken instead (`requested_port_taken` tells).
    """

    def __init__(
        self,
        cluster: Cluster,
        namespace: str,
        service: str,
        port: int | str,
        *,
        local_port: int = 0,
        fallback: bool = False,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.service = service
        self.port = str(port)
        self.requested_port = local_port
        self.fallback = fallback
        self.requested_port_taken = False
        self.on_error = on_error
        self.connections = 0  # connections served (diagnostics and tests)
        self.last_error: str | None = None
        self._listener: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._target: PodTarget | None = None
        self._threads: set[threading.Thread] = set()
        self._sockets: set[Any] = set()

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def local_port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the port-forward is not started")
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.local_port}"

    @property
    def what(self) -> str:
        return f"Service {self.namespace}/{self.service}:{self.port}"

    def start(self) -> PortForward:
        self._listener = self._bind()
        self._spawn(self._accept_loop, f"lab-forward-{self.service}")
        return self

    def __enter__(self) -> PortForward:
        return self.start() if self._listener is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, end every tunnel, join every thread (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")  # readable from now on: wakes every select() below
        with self._lock:
            live = list(self._sockets)
        for sock in live:  # wakes a thread blocked in send/recv on it (close() alone does not)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.join(JOIN_TIMEOUT)
        with self._lock:
            leftovers = list(self._sockets)
        for sock in leftovers:
            _close(sock)
        if self._listener is not None:
            _close(self._listener)
        _close(self._wake_r)
        _close(self._wake_w)

    @property
    def alive_threads(self) -> int:
        with self._lock:
            return sum(1 for t in self._threads if t.is_alive())

    def join(self, timeout: float = JOIN_TIMEOUT) -> bool:
        """Wait for this forward's threads to end (after `close()`); True if none is left."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [t for t in self._threads if t is not threading.current_thread()]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return self.alive_threads == 0

    def _bind(self) -> socket.socket:
        for port in dict.fromkeys([self.requested_port, 0]):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((LOOPBACK, port))
                sock.listen(64)
                return sock
            except OSError as exc:
                sock.close()
                if exc.errno != errno.EADDRINUSE or port == 0:
                    raise errors.PortInUse(f"cannot listen on {LOOPBACK}:{port}: {exc.strerror}") from None
                if not self.fallback:
                    raise errors.PortInUse(
                        f"local port {port} is taken (forwarding {self.what}); free it or pick another"
                    ) from None
                self.requested_port_taken = True
        raise AssertionError("unreachable")

    def _spawn(self, target: Callable[..., None], name: str, *args: Any) -> None:
        def run() -> None:
            try:
                target(*args)
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            if self._closed.is_set():
                for arg in args:
                    _close(arg)
                return
            self._threads.add(thread)
        thread.start()

    # -- resolving the pod -----------------------------------------------------------------------
    def resolve(self, *, fresh: bool = False) -> PodTarget:
        """The pod and container port connections go to (cached until a connection fails)."""
        with self._lock:
            if self._target is not None and not fresh:
                return self._target
        target = resolve_service(self.cluster, self.namespace, self.service, self.port)
        with self._lock:
            self._target = target
        return target

    def _forget(self, target: PodTarget) -> None:
        with self._lock:
            if self._target == target:
                self._target = None

    # -- accepting and pumping -------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._closed.is_set():
            ready, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in ready or self._closed.is_set():
                return
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            self._spawn(self._serve, f"lab-forward-{self.service}-conn", conn)

    def _serve(self, conn: socket.socket) -> None:
        self._track(conn)
        ws: WebSocket | None = None
        try:
            ws = self._open_stream()
            if ws is not None and not self._closed.is_set():
                self._track(ws.sock)
                self._pump(conn, ws)
        finally:
            if ws is not None:
                self._untrack(ws.sock)
                with contextlib.suppress(WebSocketException, OSError):
                    ws.close(timeout=0.2)
            self._untrack(conn)
            _close(conn)

    def _open_stream(self) -> WebSocket | None:
        """A WebSocket to the pod; one retry on a freshly resolved pod if the cached one failed."""
        for attempt in range(2):
            try:
                target = self.resolve(fresh=attempt > 0)
            except ClusterError as exc:
                self._failed(f"{self.what}: {exc}")
                return None
            try:
                return open_stream(self.cluster, target)
            except ClusterError as exc:
                self._forget(target)
                if attempt or self._closed.is_set():
                    self._failed(f"{self.what} → {target}: {exc}")
        return None

    def _pump(self, conn: socket.socket, ws: WebSocket) -> None:
        conn.setblocking(True)
        opened = [False, False]
        remote = ws.sock
        assert remote is not None
        while not self._closed.is_set():
            ready, _, _ = select.select([conn, remote, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            if conn in ready:
                try:
                    data = conn.recv(CHUNK)
                except OSError:
                    return
                if not data:
                    return  # the local client is done; v4 has no half-close
                try:
                    ws.send_binary(b"\x00" + data)
                except (WebSocketException, OSError):
                    return
            if remote in ready and not self._drain(conn, ws, opened):
                return

    def _drain(self, conn: socket.socket, ws: WebSocket, opened: list[bool]) -> bool:
        """Read the frames that are ready; False when the tunnel is over."""
        while True:
            try:
                opcode, frame = ws.recv_data_frame(True)
            except (WebSocketException, OSError):
                return False
            if opcode == ABNF.OPCODE_CLOSE:
                return False
            if opcode == ABNF.OPCODE_BINARY and frame.data:
                channel, payload = frame.data[0], bytes(frame.data[1:])
                if channel > 1:
                    self._failed(f"{self.what}: unexpected channel {channel}")
                    return False
                if not opened[channel]:
                    opened[channel] = True  # the first frame of a channel names the port
                elif channel == 1:
                    self._failed(f"{self.what}: {payload.decode('utf-8', 'replace').strip()}")
                    return False
                elif payload:
                    try:
                        conn.sendall(payload)
                    except OSError:
                        return False
            sock = ws.sock
            if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                return True

    def _failed(self, message: str) -> None:
        self.last_error = message
        if self.on_error is not None:
            self.on_error(message)

    def _track(self, sock: Any) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _untrack(self, sock: Any) -> None:
        with self._lock:
            self._sockets.discard(sock)


def resolve_service(cluster: Cluster, namespace: str, service: str, port: str) -> PodTarget:
    """Service → a ready pod of its selector (newest first, as kubectl) → the container port."""
    svc = cluster.get("v1", "Service", service, namespace)
    what = f"Service {namespace}/{service}"
    if svc is None:
        raise errors.NoForwardTarget(f"{what} not found")
    spec = svc.get("spec") or {}
    entry = next(
        (p for p in spec.get("ports") or [] if port in (str(p.get("port")), str(p.get("name")))), None
    )
    if entry is None:
        known = ", ".join(str(p.get("name") or p.get("port")) for p in spec.get("ports") or [])
        raise errors.NoForwardTarget(f"{what} has no port {port} (it has: {known or 'none'})")
    selector = spec.get("selector") or {}
    if not selector:
        raise errors.NoForwardTarget(f"{what} has no selector: there is no pod to forward to")
    text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    pods = [p for p in cluster.list("v1", "Pod", namespace, text) if _running(p)]
    if not pods:
        raise errors.NoForwardTarget(f"{what}: no running pod matches its selector {text}")
    pods.sort(key=lambda p: (_ready(p), str(p["metadata"].get("creationTimestamp") or "")), reverse=True)
    pod = pods[0]
    target_port = entry.get("targetPort", entry.get("port"))
    number = _container_port(pod, target_port)
    if number is None:
        raise errors.NoForwardTarget(
            f"{what}: pod {pod['metadata']['name']} has no container port named {target_port}"
        )
    return PodTarget(namespace, str(pod["metadata"]["name"]), number)


def _running(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in (None, "Running", "Pending") and not (
        pod.get("metadata") or {}
    ).get("deletionTimestamp")


def _ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status")) == "True"
    return False


def _container_port(pod: dict[str, Any], target: Any) -> int | None:
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return int(port["containerPort"])
    return None


def open_stream(cluster: Cluster, target: PodTarget, *, timeout: float = HANDSHAKE_TIMEOUT) -> WebSocket:
    """Open the port-forward WebSocket of one pod port (ClusterError when refused)."""
    transport = cluster.transport
    settings = transport.settings
    path = f"/api/v1/namespaces/{target.namespace}/pods/{target.pod}/portforward"
    url, headers = transport.prepare("GET", path, {"ports": target.port}, {})
    url = ("wss" if url[:5].lower() == "https" else "ws") + url[url.index(":"):]
    header = [f"sec-websocket-protocol: {PROTOCOL}"]
    auth = {k.lower(): v for k, v in headers.items()}.get("authorization")
    if auth:
        header.append(f"authorization: {auth}")
    options: dict[str, Any] = {"header": header, "timeout": timeout, **_proxy_options(settings.proxy_url)}
    ws = WebSocket(sslopt=_ssl_options(settings), skip_utf8_validation=True)
    try:
        ws.connect(url, **options)  # type: ignore[no-untyped-call]
    except WebSocketBadStatusException as exc:
        status = int(getattr(exc, "status_code", 0) or 0)
        body = bytes(getattr(exc, "resp_body", b"") or b"")
        raise errors.from_status(status or 502, body, ref=str(target)) from None
    except (WebSocketException, OSError) as exc:
        raise transport.unreachable(exc, str(target)) from None
    ws.settimeout(FRAME_TIMEOUT)
    if ws.subprotocol and ws.subprotocol != PROTOCOL:
        ws.close()
        raise errors.NoForwardTarget(
            f"the API server chose port-forward protocol {ws.subprotocol!r}, not {PROTOCOL}"
        )
    return ws


def _ssl_options(settings: Settings) -> dict[str, Any]:
    """The connection pool's TLS context: the same trust, client certificate and server name."""
    if settings.ssl_context is None:
        return {}
    opts: dict[str, Any] = {"context": settings.ssl_context}
    if settings.tls_server_name:
        opts["server_hostname"] = settings.tls_server_name
    return opts


def _proxy_options(proxy: str | None) -> dict[str, Any]:
    """The kubeconfig's proxy as websocket-client takes it (without one, websocket-client reads
    the proxy environment variables itself)."""
    if not proxy:
        return {}
    parts = urlsplit(proxy)
    default = 443 if parts.scheme == "https" else 1080 if parts.scheme.startswith("socks") else 80
    opts: dict[str, Any] = {"http_proxy_host": parts.hostname, "http_proxy_port": parts.port or default,
                            "proxy_type": "http" if parts.scheme.startswith("http") else parts.scheme}
    if parts.username or parts.password:
        opts["http_proxy_auth"] = (unquote(parts.username or ""), unquote(parts.password or ""))
    return opts


def _close(sock: Any) -> None:
    with contextlib.suppress(OSError):
        sock.close()

