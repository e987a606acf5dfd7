"""A per-client rate limit for the public endpoint, kept in this process's memory.

Your task (lesson: weeks/02-fastapi/README.md, section 'Rate limiting'): a limiter that
allows ``limit`` requests per client per ``window_s`` seconds, and the dependency that applies
it to ``GET /public/status`` with the headers of draft-ietf-httpapi-ratelimit-headers-10:

* on every response: ``RateLimit-Policy: "public";q=<limit>;w=<window s>`` and
  ``RateLimit: "public";r=<remaining>;t=<seconds until quota frees up>``;
* over the limit: ``HTTPException(429)`` carrying those two plus ``Retry-After: <seconds>``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from .settings import Settings, get_settings

TODO = "see weeks/02-fastapi/README.md, section 'Rate limiting'"


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
    """Counts each client's requests in the last ``window_s`` seconds (one instance per app)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, object] = {}

    def hit(self, key: str, limit: int, window_s: float) -> Decision:
        """Count one request by ``key`` if it is allowed; say whether it was and what is left.

        An allowed request counts for exactly ``window_s`` seconds: at ``now - window_s`` it has
        left the window. A refused request is not counted (a client retrying while limited must
        not lock itself out). ``reset_after_s`` is the time until the oldest counted request leaves
        (0 with no requests); ``retry_after_s`` is 0 while requests remain, else that same time.
        """
        raise NotImplementedError(TODO)


async def public_rate_limit(request: Request, response: Response,
                            settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """Dependency for the public endpoint: one ``hit`` per request, keyed per client.

    ``async def`` although it never awaits: it then runs on the event loop, one request at a
    time, so ``hit``'s read-check-count cannot interleave (a plain ``def`` runs in a threadpool).

    The limiter lives at ``request.app.state.rate_limiter``; the client is
    ``request.client.host``; limits come from ``settings.public_rate_limit`` and
    ``settings.public_rate_window_s``. Allowed: set the headers on ``response``. Refused: raise.
    """
    raise NotImplementedError(TODO)
