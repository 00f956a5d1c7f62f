"""When to try a request again, and for how long.

Retried: 429 (after its Retry-After), 500/502/503/504, connection resets and refusals, and
timeouts — the faults a busy or restarting API server shows. Never retried: 4xx answers other
than 429, because the server has decided (a 409 conflict or a 422 invalid object must reach the
user at once with the server's message). The delay grows exponentially with full jitter (so
concurrent workers do not retry in lock-step) and every request has a budget: a number of attempts
and a total time, after which the last error is raised.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    budget: float = 30.0  # seconds, from the first attempt
    base: float = 0.05
    cap: float = 4.0
    connect_attempts: int = 3  # a refused connection means "down" sooner than a reset does

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
        if retry_after is not None:
            return min(retry_after, self.cap * 4) + random.uniform(0, self.base)
        return random.uniform(0, min(self.cap, self.base * (2 ** attempt)))


class Budget:
    """The retry state of one request."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.started = time.monotonic()
        self.attempt = 0
        self.connect_failures = 0

    def next_delay(
        self, *, retry_after: float | None = None, connect: bool = False, patient: bool = False
    ) -> float | None:
        """The delay before trying again, or None when the budget is spent. `patient` (a server
        restarting): only the time budget limits the attempts."""
        self.attempt += 1
        if connect:
            self.connect_failures += 1
            if self.connect_failures >= self.policy.connect_attempts:
                return None
        if self.attempt >= self.policy.attempts and not patient:
            return None
        delay = self.policy.delay(self.attempt, retry_after)
        if time.monotonic() + delay - self.started > self.policy.budget:
            return None
        return delay


NO_RETRY = RetryPolicy(attempts=1, connect_attempts=1)
