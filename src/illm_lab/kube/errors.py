"""Errors of the Kubernetes API, converted at the adapter boundary.

Nothing above `kube/` ever sees an `ApiException` or a urllib3 error: the transport turns a
non-2xx reply into one of these, built from the server's `Status` body (its `message`, `reason`
and `code`), and names the object the request was about. A transport failure (refused, reset,
TLS, timeout) becomes `Unreachable` with the server URL and the context — never a credential.
"""

from __future__ import annotations

import json
from typing import Any

from illm_lab.base.errors import ClusterError, UsageError
from illm_lab.base.identity import ObjectRef

MAX_MESSAGE = 400


class ApiError(ClusterError):
    """The API server answered with an error `Status`."""

    status = 0

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        reason: str = "",
        ref: ObjectRef | str | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.status = status or type(self).status
        self.reason = reason
        self.ref = ref
        self.retry_after = retry_after
        self.details = details or {}
        self.server_message = message
        what = f"{ref}: " if ref else ""
        tail = f" (HTTP {self.status} {reason})" if reason else f" (HTTP {self.status})"
        super().__init__(f"{what}{message}{tail}")


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    """409: an apply conflict with another field manager, or the object already exists."""

    status = 409


class Gone(ApiError):
    """410: a watch's resourceVersion is too old; relist."""

    status = 410


class Invalid(ApiError):
    """422: the object does not validate."""

    status = 422


class TooManyRequests(ApiError):
    status = 429


class ServerError(ApiError):
    status = 500


class Unreachable(ClusterError):
    """The request never got an answer: refused, reset, TLS failure or timed out."""


class UnknownKind(ClusterError):
    """The server does not serve this apiVersion/kind."""


class WaitTimeout(ClusterError):
    """A wait reached its deadline; the message names what and the last status seen.

    `last` is the last version of the object the wait saw (None: none seen), so that a caller
    can say what holds it."""

    def __init__(self, message: str, *, last: dict[str, Any] | None = None,
                 detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.last = last


class WaitFailed(ClusterError):
    """What we waited for can no longer become ready (a failed Job, a failed Pod, ...)."""


class NoForwardTarget(ClusterError):
    """A port-forward has nowhere to go: no such Service or port, no running pod behind it."""


class PortInUse(UsageError):
    """The local port a port-forward was asked to listen on is taken."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 410: Gone,
    422: Invalid, 429: TooManyRequests,
}

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def from_status(
    status: int,
    body: bytes,
    *,
    ref: ObjectRef | str | None = None,
    retry_after: str | None = None,
    http_reason: str = "",
) -> ApiError:
    """Build the error for an HTTP reply from its `Status` body (or its plain text)."""
    message, reason = "", ""
    details: dict[str, Any] = {}
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        reason = str(data.get("reason") or "")
        found = data.get("details")
        details = found if isinstance(found, dict) else {}
    elif body:
        message = body.decode("utf-8", "replace").strip()
    message = " ".join(message.split())[:MAX_MESSAGE] or http_reason or "no message from the server"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(
        message, status=status, reason=reason or http_reason, ref=ref,
        retry_after=_seconds(retry_after), details=details,
    )


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
