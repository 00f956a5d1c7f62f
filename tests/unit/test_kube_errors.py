"""Converting API answers into lab errors, and the retry budget."""

from __future__ import annotations

import json

from illm_lab.base.identity import ObjectRef
from illm_lab.kube import errors
from illm_lab.kube.retry import Budget, RetryPolicy


def status(code: int, message: str, reason: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                       "reason": reason, "code": code}).encode()


def test_status_bodies_become_typed_errors_naming_the_object() -> None:
    ref = ObjectRef("apps/v1", "Deployment", "web", "demo")
    err = errors.from_status(422, status(422, 'Deployment.apps "web" is invalid: spec.replicas: Invalid',
                                         "Invalid"), ref=ref)
    assert isinstance(err, errors.Invalid) and err.exit_code == 3
    assert str(err) == ('Deployment demo/web: Deployment.apps "web" is invalid: spec.replicas: Invalid '
                        "(HTTP 422 Invalid)")
    assert isinstance(errors.from_status(409, status(409, "conflict", "Conflict")), errors.Conflict)
    assert isinstance(errors.from_status(503, b"upstream down"), errors.ServerError)
    throttled = errors.from_status(429, b"", retry_after="2", http_reason="Too Many Requests")
    assert isinstance(throttled, errors.TooManyRequests) and throttled.retry_after == 2.0
    assert "Too Many Requests" in str(throttled)
    assert errors.from_status(429, b"", retry_after="Wed, 21 Oct 2015 07:28:00 GMT").retry_after is None


def test_budget_limits_attempts_time_and_refused_connections() -> None:
    budget = Budget(RetryPolicy(attempts=3, base=0.001))
    assert budget.next_delay() is not None and budget.next_delay() is not None
    assert budget.next_delay() is None
    refused = Budget(RetryPolicy(attempts=10, connect_attempts=2, base=0.001))
    assert refused.next_delay(connect=True) is not None and refused.next_delay(connect=True) is None
    short = Budget(RetryPolicy(budget=0.5, base=0.001, cap=1.0))
    assert short.next_delay(retry_after=5.0) is None  # waiting would overrun the budget
    delays = [RetryPolicy(base=0.1, cap=0.4).delay(n) for n in range(1, 8)]
    assert all(0 <= d <= 0.4 for d in delays)
