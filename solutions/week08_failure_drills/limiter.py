"""A fixed-window rate limiter in Redis that knows what to do when Redis cannot answer.

Failing open (allow) keeps the product up during a Redis outage at the price of no limits for a
while; failing closed (refuse with 503) protects a fragile downstream at the price of an outage
for everyone. It is a business decision, so it is a setting — and both paths are tested.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis

from .breaker import CircuitBreaker
from .errors import Unavailable


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
        """Count this request against ``client_id``'s window; raise ``Unavailable`` only when
        Redis cannot answer and the limiter is configured to fail closed."""
        if not self.breaker.allow():
            return self._cannot_decide()
        now = time.time()
        window = int(now // self.window_s)
        key = f"rate:{client_id}:{window}"
        try:
            # INCR and EXPIRE in one MULTI: a key is never left without its TTL.
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, self.window_s)
            count, _ = pipe.execute()
        except redis.RedisError:
            self.breaker.failure()
            return self._cannot_decide()
        self.breaker.success()
        if count <= self.limit:
            return Decision(allowed=True)
        window_ends = (window + 1) * self.window_s
        return Decision(allowed=False, retry_after_s=max(1, math.ceil(window_ends - now)))

    def _cannot_decide(self) -> Decision:
        if self.fail_open:
            return Decision(allowed=True)
        raise Unavailable("rate limiter unavailable (Redis)", self.breaker.retry_after_s())
