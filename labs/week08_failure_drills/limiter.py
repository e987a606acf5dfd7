"""A fixed-window rate limiter in Redis that knows what to do when Redis cannot answer.

Failing open (allow) keeps the product up during a Redis outage at the price of no limits for a
while; failing closed (refuse with 503) protects a fragile downstream at the price of an outage
for everyone. It is a business decision, so it is a setting — and both paths are tested.

The answer is week 05's ``Decision``, field for field, so the HTTP layer sets the same headers
whichever limiter it asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from .breaker import CircuitBreaker, CircuitOpenError  # noqa: F401
from .errors import Unavailable  # noqa: F401  (raise it when failing closed)


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
        """Count this request against ``client_id``'s window: at most ``limit`` per ``window_s``.

        A fixed window: ``INCR`` a key per client and window, ``EXPIRE`` it with the window, both in
        one ``MULTI``, through ``self.breaker.call(...)``. Answer a full :class:`Decision`:
        ``remaining`` after this request, ``reset_after_s`` until the window ends, and
        ``retry_after_s`` = 0.0 while ``remaining`` > 0, else ``reset_after_s``.

        When Redis cannot answer (error, timeout, open circuit) nothing is counted: allow if
        ``fail_open`` (``remaining=limit``, both waits 0.0), else raise ``Unavailable(reason,
        retry_after_s)`` — the open circuit's ``retry_after_s``, or the breaker's ``reset_timeout_s``.
        """
        raise NotImplementedError(
            "RateLimiter.check: see weeks/08-failure-drills/README.md, section 'Fail open or fail closed'")
