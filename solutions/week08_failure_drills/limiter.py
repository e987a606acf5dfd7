"""A fixed-window rate limiter in Redis that knows what to do when Redis cannot answer.

Failing open (allow) keeps the product up during a Redis outage at the price of no limits for a
while; failing closed (refuse with 503) protects a fragile downstream at the price of an outage
for everyone. It is a business decision, so it is a setting — and both paths are tested.

The answer is week 05's ``Decision``, field for field, so the HTTP layer sets the same headers
whichever limiter it asks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from .breaker import CircuitBreaker, CircuitOpenError
from .errors import Unavailable


@dataclass(frozen=True)
class Decision:
    """One limiter decision (week 05's):

    * ``allowed`` — whether this request may proceed;
    * ``limit`` — requests per window;
    * ``remaining`` — how many more requests would be allowed right now, after this one;
    * ``retry_after_s`` — seconds until the next request would be allowed (0.0 while ``remaining`` > 0);
    * ``reset_after_s`` — seconds until the window ends and the count starts again.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float
    reset_after_s: float


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
        now = time.time()
        window = int(now // self.window_s)
        key = f"rate:{client_id}:{window}"
        try:
            count = self.breaker.call(self._count, key)
        except CircuitOpenError as exc:
            return self._cannot_decide(exc.retry_after_s)
        except redis.RedisError:
            return self._cannot_decide(self.breaker.reset_timeout_s)
        reset_after_s = (window + 1) * self.window_s - now
        remaining = max(0, self.limit - count)
        return Decision(allowed=count <= self.limit, limit=self.limit, remaining=remaining,
                        retry_after_s=0.0 if remaining > 0 else reset_after_s, reset_after_s=reset_after_s)

    def _count(self, key: str) -> int:
        # INCR and EXPIRE in one MULTI: a key is never left without its TTL.
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, self.window_s)
        count, _ = pipe.execute()
        return int(count)

    def _cannot_decide(self, retry_after_s: float) -> Decision:
        """Redis did not answer: nothing was counted, so the decision is a policy, not a count."""
        if self.fail_open:
            return Decision(allowed=True, limit=self.limit, remaining=self.limit, retry_after_s=0.0,
                            reset_after_s=0.0)
        raise Unavailable("rate limiter unavailable (Redis)", retry_after_s)
