"""When to try a webhook again: a fixed table of delays, full jitter, and ``Retry-After`` obeyed.

Your task — two functions:

* :meth:`RetrySchedule.next_delay_s` — after ``failures`` failed attempts (1 = the first), the
  wait before the next one: ``rand() * delays_s[failures - 1]`` (full jitter, uniform in
  ``[0, nominal]``); if the receiver sent ``retry_after_s``, at least ``min(retry_after_s,
  retry_after_cap_s)``; the result multiplied by ``time_scale``. ``None`` once ``failures``
  exceeds the table (the schedule is exhausted); a ``ValueError`` for ``failures < 1``.
* :func:`parse_retry_after` — a ``Retry-After`` header in seconds: delta-seconds (``"120"`` →
  ``120.0``) or an HTTP-date (seconds from ``now_s``, default ``time.time()``, to then, at least 0);
  ``None`` when absent, blank or unparseable.

The table is Svix's: after the immediate first attempt, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
Read weeks/11-design-practice/README.md, section 'Delivering: retries, jitter and Retry-After'.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

STANDARD_DELAYS_S: tuple[float, ...] = (5, 300, 1_800, 7_200, 18_000, 36_000, 36_000)
SECTION = "see weeks/11-design-practice/README.md, section 'Delivering: retries, jitter and Retry-After'"


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
        raise NotImplementedError(f"RetrySchedule.next_delay_s — {SECTION}")


def parse_retry_after(value: str | None, *, now_s: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds or an HTTP-date; ``None`` if absent or invalid."""
    raise NotImplementedError(f"parse_retry_after — {SECTION}")
