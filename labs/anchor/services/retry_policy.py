"""When to try a failed delivery again: Svix's schedule, ±20 % jitter, and the receiver's wishes.

Write it (week 14). The schedule (``settings.scaled_schedule_s``) is the delay *before* each
attempt: entry 0 (0 s) is the first try, entry ``n`` the wait after the ``n``-th failure; past
its end the delivery is exhausted.

* jitter: uniform in ``[d·(1−j), d·(1+j)]`` — a failed wave comes back spread both ways;
* ``Retry-After`` (seconds or an HTTP date) is a floor, capped at the schedule's largest step;
* a 429 or a timeout without ``Retry-After`` waits twice the scheduled delay.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence


def parse_retry_after(value: str | None, *, now_s: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds or an HTTP date); ``None`` if absent or invalid."""
    raise NotImplementedError("see weeks/14-anchor-jobs/README.md, section 'What the receiver says'")


def next_delay_s(*, attempts: int, schedule_s: Sequence[float], jitter: float,
                 retry_after_s: float | None = None, slow_down: bool = False,
                 rand: Callable[[], float] = random.random) -> float | None:
    """Seconds until the next attempt after ``attempts`` attempts all failed; ``None`` when exhausted.

    ``slow_down``: the last failure was a 429 or a timeout. ``rand`` returns a float in ``[0, 1)``.
    """
    raise NotImplementedError("see weeks/14-anchor-jobs/README.md, section 'Retry schedule and jitter'")
