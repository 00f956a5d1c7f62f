"""HTTP to the API server through one urllib3 connection pool, with retries.

Why not the generated API classes or the dynamic client: both build model objects or resource
wrappers for every reply, and the dynamic client discovers every API group up front. We send
plain JSON bytes through one urllib3 pool built from the kubeconfig's settings (`config.py`:
TLS context, proxy, credentials). Measured on the tier-3 cluster this is what lets the engine keep
several requests in flight over one shared, thread-safe pool (see
adrs/0002-server-side-apply-through-the-client.md and docs/benchmarks.md); that the official
client is not imported at all is adrs/0022-lab-reads-kubeconfigs-itself.md.

urllib3's own retries are switched off: `retry.py` decides, so a 409 or 422 reaches the caller at
once and a 429/5xx/reset is retried within a budget. A 401 is sent once more with renewed
credentials when they can be renewed (an exec plugin, a token file), as kubectl does.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import urllib3

from illm_lab.base.identity import ObjectRef
from illm_lab.kube import errors
from illm_lab.kube.config import Endpoint, Settings
from illm_lab.kube.retry import Budget, RetryPolicy

DEFAULT_TIMEOUT = (5.0, 60.0)  # connect, read (seconds)
CONNECT_DEADLINE = 10.0  # seconds a server that never answers a connect gets, retries included
JSON = "application/json"
USER_AGENT = "illm-lab"


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Transport:
    """One connection pool to one API server, shared by every thread of the process."""

    def __init__(
        self,
        settings: Settings,
        target: Endpoint,
        *,
        pool_size: int = 16,
        policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        connect_deadline: float = CONNECT_DEADLINE,
    ) -> None:
        self.settings = settings
        self.target = target
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.connect_deadline = connect_deadline
        self.answered = False  # has the server answered any request of this process yet?
        self._pool = pool_manager(settings, pool_size)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()  # requests sent, by method (diagnostics, benchmarks)

    def close(self) -> None:
        self._pool.clear()

    def prepare(
        self, method: str, path: str, query: Mapping[str, Any] | None, headers: dict[str, str]
    ) -> tuple[str, dict[str, str]]:
        """The URL and headers (credentials included) of a request, for callers that speak
        another protocol over the same connection settings (the port-forward WebSocket). May run
        the kubeconfig's exec plugin, when its credential is missing or expired."""
        url = self.settings.server + path
        params = [(k, _query_value(v)) for k, v in (query or {}).items() if v is not None]
        if params:
            url += "?" + urlencode(params, safe="/", quote_via=quote)
        return url, {"User-Agent": USER_AGENT, **headers, **self.settings.credentials.headers()}

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = JSON,
        ref: ObjectRef | str | None = None,
        timeout: float | tuple[float, float] | None = None,
        policy: RetryPolicy | None = None,
        extra_headers: Mapping[str, str] | None = None,
        raise_for_status: bool = True,
    ) -> Response:
        """Send one request, retrying transient faults; raise `kube.errors` on failure.

        With `raise_for_status=False` any HTTP answer is returned as is (and not retried): the
        service proxy passes on the backend's own status codes.
        """
        headers = {"Accept": accept, **(extra_headers or {})}
        if content_type:
            headers["Content-Type"] = content_type
        budget = Budget(policy or self.policy)
        connect_by = time.monotonic() + self.connect_deadline
        renewed = False  # credentials renewed after a 401 (once per request)
        while True:
            url, hdrs = self.prepare(method, path, query, headers)
            limits = _timeout(timeout or self.timeout)
            # connecting (TCP and TLS) never outlasts the connect deadline, retries included
            left = max(0.01, connect_by - time.monotonic())
            limits = urllib3.Timeout(connect=min(_connect_of(limits), left), read=limits.read_timeout)
            try:
                raw = self._pool.request(
                    method, url, body=body, headers=hdrs, timeout=limits,
                    retries=False, preload_content=True, redirect=False,
                )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                # a handshake cut short is a connection failure too: a load balancer or relay in
                # front of a restarting server accepts the TCP connection, then closes it
                connect = isinstance(
                    exc, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
                    | urllib3.exceptions.SSLError
                )
                if _bad_certificate(exc):
                    raise self.unreachable(exc, ref) from None
                # A server that answered this process before and now refuses is restarting (an
                # upgrade, a crash): worth the whole budget. One that never answered is a wrong
                # address or a cluster that is down: say so within seconds.
                restarting = connect and self.answered
                delay = budget.next_delay(connect=connect and not restarting, patient=restarting)
                if delay is None or (connect and not restarting and time.monotonic() + delay >= connect_by):
                    raise self.unreachable(exc, ref) from None
                if not connect or restarting:  # the next attempt gets a whole connect deadline
                    connect_by = time.monotonic() + delay + self.connect_deadline
                time.sleep(delay)  # backoff between attempts, not a readiness poll
                continue
            finally:
                with self._lock:
                    self.counts[method] += 1
            self.answered = True
            if raw.status < 400 or not raise_for_status:
                return Response(raw.status, raw.headers, raw.data or b"")
            if raw.status == 401 and not renewed and self.settings.credentials.refresh(hdrs):
                renewed = True
                continue
            err = errors.from_status(
                raw.status, raw.data or b"", ref=ref, retry_after=raw.headers.get("Retry-After"),
                http_reason=raw.reason or "",
            )
            if raw.status in errors.RETRYABLE_STATUS:
                delay = budget.next_delay(retry_after=err.retry_after)
                if delay is not None:
                    connect_by = time.monotonic() + delay + self.connect_deadline
                    time.sleep(delay)  # backoff (Retry-After honoured), not a readiness poll
                    continue
            raise err

    def stream(
        self, path: str, *, query: Mapping[str, Any], read_timeout: float, ref: str | None = None
    ) -> urllib3.BaseHTTPResponse:
        """Open a streaming GET (a watch, a log follow). A 429 or 5xx answer to the opening
        request is retried like any request, within `read_timeout` (a busy API server sheds
        watches first); a connection failure raises `Unreachable` at once and the caller
        resumes. Once open, the stream is the caller's."""
        url, hdrs = self.prepare("GET", path, query, {"Accept": JSON})
        budget = Budget(replace(self.policy, budget=max(0.05, min(self.policy.budget, read_timeout))))
        renewed = False
        while True:
            with self._lock:
                self.counts["WATCH"] += 1
            try:
                raw: urllib3.BaseHTTPResponse = self._pool.request(
                    "GET", url, headers=hdrs, retries=False, preload_content=False, redirect=False,
                    timeout=urllib3.Timeout(
                        connect=min(self.timeout[0], self.connect_deadline), read=max(0.05, read_timeout)
                    ),
                )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise self.unreachable(exc, ref) from None
            if raw.status < 400:
                return raw
            data = raw.read()
            raw.release_conn()
            if raw.status == 401 and not renewed and self.settings.credentials.refresh(hdrs):
                renewed = True
                url, hdrs = self.prepare("GET", path, query, {"Accept": JSON})
                continue
            err = errors.from_status(
                raw.status, data, ref=ref, retry_after=raw.headers.get("Retry-After"),
                http_reason=raw.reason or "",
            )
            retryable = raw.status in errors.RETRYABLE_STATUS
            delay = budget.next_delay(retry_after=err.retry_after) if retryable else None
            if delay is None:
                raise err
            time.sleep(delay)  # backoff (Retry-After honoured), not a readiness poll

    def unreachable(self, exc: BaseException, ref: ObjectRef | str | None = None) -> errors.Unreachable:
        what = _describe_transport_error(exc)
        about = f" ({ref})" if ref else ""
        return errors.Unreachable(
            f"cannot reach the cluster at {self.target.server} (context {self.target.context}): "
            f"{what}{about}"
        )


def pool_manager(settings: Settings, maxsize: int) -> urllib3.PoolManager:
    """One pool manager for the server of `settings`: its TLS context (the server's name for the
    handshake when the kubeconfig gives one), through its proxy when it has one."""
    kw: dict[str, Any] = {"maxsize": maxsize, "retries": False}
    context = settings.ssl_context
    if context is not None:
        kw["ssl_context"] = context
        kw["cert_reqs"] = "CERT_NONE" if context.verify_mode == ssl.CERT_NONE else "CERT_REQUIRED"
        if context.verify_mode == ssl.CERT_NONE:  # the kubeconfig's choice: not a warning per request
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        if settings.tls_server_name:
            kw["server_hostname"] = settings.tls_server_name
    proxy = settings.proxy_url
    if not proxy:
        return urllib3.PoolManager(**kw)
    parts = urlsplit(proxy)
    if parts.scheme.startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager

        manager: urllib3.PoolManager = SOCKSProxyManager(proxy, **kw)
        return manager
    headers = None
    if parts.username or parts.password:
        secret = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        headers = urllib3.make_headers(proxy_basic_auth=secret)
        netloc = parts.netloc.rpartition("@")[2]
        proxy = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return urllib3.ProxyManager(proxy, proxy_headers=headers, **kw)


def _timeout(value: float | tuple[float, float]) -> urllib3.Timeout:
    """Always with a connect timeout of its own (never None: an unanswered SYN would wait for
    the kernel's retries), separate from the read timeout."""
    if isinstance(value, tuple):
        connect = value[0] if value[0] and value[0] > 0 else DEFAULT_TIMEOUT[0]
        return urllib3.Timeout(connect=min(connect, CONNECT_DEADLINE), read=value[1])
    return urllib3.Timeout(connect=min(value, DEFAULT_TIMEOUT[0]), read=value)


def _connect_of(timeout: urllib3.Timeout) -> float:
    connect = timeout.connect_timeout
    return float(connect) if isinstance(connect, int | float) else DEFAULT_TIMEOUT[0]


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _describe_transport_error(exc: BaseException) -> str:
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "connection refused or no route"
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return "connection timed out"
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return "no answer in time (read timeout)"
    if _bad_certificate(exc):
        return "TLS handshake failed (check the kubeconfig's certificate authority)"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "the connection closed during the TLS handshake"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "connection reset"
    return type(exc).__name__


def _bad_certificate(exc: BaseException) -> bool:
    """A TLS failure that trying again cannot mend: the server's certificate is not trusted (or
    not for this host), as opposed to a handshake cut short."""
    if not isinstance(exc, urllib3.exceptions.SSLError):
        return False
    seen: BaseException | None = exc
    for _ in range(5):  # the ssl error sits in the urllib3 error's args or cause
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError) or any(
                isinstance(a, ssl.SSLCertVerificationError) for a in seen.args):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return "certificate" in text or "hostname" in text or "wrong version number" in text
