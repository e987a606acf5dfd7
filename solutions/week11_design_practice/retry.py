"""When to try a webhook again: a fixed table of delays, full jitter, and ``Retry-After`` obeyed.

Webhook retries span days, not seconds: a receiver that is down for a deploy is back in
minutes, one that is down for an incident in hours. The table is Svix's (the anchor's peers
use the same shape): after the immediate first attempt, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
10 h. Week 07's ``full_jitter`` grows a delay by powers of two; here the table is the
*nominal* delay and the jitter is the same — uniform in ``[0, nominal]`` — so thousands of
messages that failed together (the receiver's outage) do not all come back together.

A ``Retry-After`` from the receiver is a floor: never come back sooner than it asked.
``time_scale`` compresses the whole timeline, ``Retry-After`` included, so tests run in seconds.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

STANDARD_DELAYS_S: tuple[float, ...] = (5, 300, 1_800, 7_200, 18_000, 36_000, 36_000)


@dataclass(frozen=True)
class RetrySchedule:
    """Nominal delay before attempt ``n + 1`` after ``n`` failures, jittered; ``None`` when exhausted."""

    delays_s: tuple[float, ...] = STANDARD_DELAYS_S
    time_scale: float = 1.0  # 0.001 turns 5 min into 0.3 s: the same schedule, compressed for tests
    retry_after_cap_s: float = 86_400.0  # a receiver may slow us down, not park a message for a year

    @property
    def max_attempts(self) -> int:
        """The first attempt plus one per delay in the table."""
        return len(self.delays_s) + 1

    def next_delay_s(self, failures: int, *, retry_after_s: float | None = None,
                     rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait after ``failures`` failed attempts (1 = the first failed), or ``None``.

        Full jitter: ``rand() * nominal``; then at least ``retry_after_s`` (capped) if the
        receiver sent one; then scaled by ``time_scale``.
        """
        if failures < 1:
            raise ValueError(f"failures counts failed attempts, starting at 1; got {failures}")
        if failures > len(self.delays_s):
            return None
        delay_s = rand() * self.delays_s[failures - 1]
        if retry_after_s is not None:
            delay_s = max(delay_s, min(retry_after_s, self.retry_after_cap_s))
        return delay_s * self.time_scale


def parse_retry_after(value: str | None, *, now_s: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds or an HTTP-date; ``None`` if absent or invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now_s is None else now_s))
