"""A per-client sliding-window rate limit for the public endpoint, kept in this process's memory.

In memory means: each uvicorn worker process counts on its own (four workers → four times the
limit), and a restart forgets everything. Week 05 moves the counters to Redis to fix both.

Headers follow draft-ietf-httpapi-ratelimit-headers-10: ``RateLimit-Policy`` states the quota
(``q``) per window (``w`` seconds); ``RateLimit`` reports what is left (``r``) and the seconds
until quota frees up (``t``); a 429 also carries the standard ``Retry-After``.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status

from .settings import Settings, get_settings

POLICY_NAME = "public"


@dataclass(frozen=True)
class Decision:
    """One limiter decision, with the fields and names of week 05's Redis limiters:

    * ``allowed`` — whether this request may proceed;
    * ``limit`` — requests per window;
    * ``remaining`` — how many more requests would be allowed right now, after this one;
    * ``retry_after_s`` — seconds until the next request would be allowed (0.0 while ``remaining`` > 0);
    * ``reset_after_s`` — seconds until quota frees up: the oldest counted request leaves the
      window (0.0 with none), the moment the ``RateLimit`` header's ``t=`` reports. (Week 05's
      limiters report when the key is back to its *full* quota; see the lesson.)
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float
    reset_after_s: float


class SlidingWindowLimiter:
    """Exact sliding window: the timestamps of each client's requests in the last window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, limit: int, window_s: float) -> Decision:
        """Count one request by ``key`` if it is allowed; say whether it was and what is left."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window_s:
            hits.popleft()
        allowed = len(hits) < limit
        if allowed:
            hits.append(now)
        # At most `limit` timestamps per client; a quiet client's deque empties and is dropped
        # on its next visit. (A sweep for clients who never return is what Redis TTLs buy.)
        remaining = limit - len(hits)
        reset_after_s = hits[0] + window_s - now if hits else 0.0
        retry_after_s = 0.0 if remaining > 0 else reset_after_s  # the last allowed one also waits
        return Decision(allowed, limit, remaining, retry_after_s, reset_after_s)


def client_key(request: Request) -> str:
    """Who is "a client": the peer address. Behind a proxy, run uvicorn with --proxy-headers
    and --forwarded-allow-ips so this is the real client, not the load balancer."""
    return request.client.host if request.client else "unknown"


def rate_limit_headers(decision: Decision, window_s: int) -> dict[str, str]:
    """``RateLimit-Policy`` and ``RateLimit`` as structured fields (draft -10, one named policy)."""
    reset = math.ceil(decision.reset_after_s)
    return {
        "RateLimit-Policy": f'"{POLICY_NAME}";q={decision.limit};w={window_s}',
        "RateLimit": f'"{POLICY_NAME}";r={decision.remaining};t={reset}',
    }


async def public_rate_limit(request: Request, response: Response,
                            settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """One hit per request, keyed per client: headers on the response, or a 429 with Retry-After."""
    # `async def` on purpose: it runs on the event loop, one request at a time, so the
    # read-check-append in `hit` cannot interleave. As a plain `def` it would run in the
    # threadpool, and two threads could both see "one left".
    limiter: SlidingWindowLimiter = request.app.state.rate_limiter
    decision = limiter.hit(client_key(request), settings.public_rate_limit, settings.public_rate_window_s)
    headers = rate_limit_headers(decision, settings.public_rate_window_s)
    if not decision.allowed:
        retry_after = max(1, math.ceil(decision.retry_after_s))
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail="rate limit exceeded",
                            headers=headers | {"Retry-After": str(retry_after)})
    response.headers.update(headers)
