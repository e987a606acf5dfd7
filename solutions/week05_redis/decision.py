"""What every rate limiter answers, and the clock they share.

Given complete in the starter: the limiters differ, their answer does not. The fields map onto
the HTTP headers a rate-limited API sends — week 02's ``RateLimit: "policy";r=<remaining>;t=<reset>``
(draft-ietf-httpapi-ratelimit-headers-10) and ``Retry-After``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """One limiter decision.

    * ``allowed`` — whether this request may proceed;
    * ``limit`` — the limiter's capacity (requests per window, or bucket size);
    * ``remaining`` — how many more requests would be allowed right now, after this one;
    * ``retry_after_s`` — seconds until the next request would be allowed (0.0 while ``remaining`` > 0);
    * ``reset_after_s`` — seconds until the limiter is back to its full capacity for this key.

    The units are in the names because the headers round differently: ``Retry-After`` is whole
    seconds, ``max(1, ceil(retry_after_s))`` — a client told "0" retries at once and is refused.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float
    reset_after_s: float


def now_ms(now: float | None) -> int:
    """``now`` (seconds, injectable for tests) or the wall clock, as integer milliseconds.

    The scripts compute in integer milliseconds: Lua numbers are doubles, and Redis truncates
    a Lua number to an integer when it returns one — milliseconds keep window edges exact.
    """
    return round((time.time() if now is None else now) * 1000)
