"""A fixed-window rate limiter in Redis that knows what to do when Redis cannot answer.

Failing open (allow) keeps the product up during a Redis outage at the price of no limits for a
while; failing closed (refuse with 503) protects a fragile downstream at the price of an outage
for everyone. It is a business decision, so it is a setting — and both paths are tested.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from .breaker import CircuitBreaker
from .errors import Unavailable  # noqa: F401  (raise it when failing closed)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0  # for a 429: seconds until the window resets


class RateLimiter:
    def __init__(self, client: redis.Redis, breaker: CircuitBreaker, limit: int, window_s: int,
                 fail_open: bool = True) -> None:
        self.client = client
        self.breaker = breaker
        self.limit = limit
        self.window_s = window_s
        self.fail_open = fail_open

    def check(self, client_id: str) -> Decision:
        """Count this request against ``client_id``'s window: at most ``limit`` per ``window_s``.

        Allowed → ``Decision(True)``; over the limit → ``Decision(False, seconds_until_reset)``.
        When Redis cannot answer (error, timeout, breaker open): allow if ``fail_open``, else raise
        ``Unavailable(reason, breaker.retry_after_s())``.
        """
        raise NotImplementedError(
            "RateLimiter.check: see weeks/08-failure-drills/README.md, section '4. Fail open or fail closed'")
