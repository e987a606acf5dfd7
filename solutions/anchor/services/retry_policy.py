"""When to try a failed delivery again: Svix's schedule, ±20 % jitter, and the receiver's wishes.

The schedule (``settings.scaled_schedule_s``) is the delay *before* each attempt: the first entry
(0) is the immediate first try, entry ``n`` the wait after the ``n``-th failure; past its end the
delivery is exhausted. Webhook outages last minutes to hours, so the steps grow to hours.

* **Jitter**: uniform in ``[d·(1−j), d·(1+j)]``. Thousands of deliveries that failed together (the
  receiver's outage) must not all come back in the same second — but, unlike full jitter, a retry
  never comes back almost at once, which would waste a step of the schedule.
* **Retry-After** (delta-seconds or an HTTP date) is a floor: never come back sooner than the
  receiver asked — capped at the schedule's largest delay, so a hostile or buggy receiver cannot
  park a message for a year.
* **429 or a timeout without Retry-After** waits twice the scheduled delay: the receiver is
  overloaded, and coming back on the normal schedule is part of the overload.

Pure functions of their arguments (the random source is injectable), so the edges are unit-tested.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Sequence


def parse_retry_after(value: str | None, *, now_s: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds or an HTTP date); ``None`` if absent or invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now_s is None else now_s))


def next_delay_s(*, attempts: int, schedule_s: Sequence[float], jitter: float,
                 retry_after_s: float | None = None, slow_down: bool = False,
                 rand: Callable[[], float] = random.random) -> float | None:
    """Seconds until the next attempt after ``attempts`` attempts all failed; ``None`` when exhausted.

    ``slow_down``: the last failure was a 429 or a timeout (doubles the delay unless the receiver
    sent ``Retry-After``). ``rand`` returns a float in ``[0, 1)``.
    """
    if attempts < 1:
        raise ValueError(f"attempts counts the attempts made, starting at 1; got {attempts}")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter is a fraction in [0, 1); got {jitter}")
    if attempts >= len(schedule_s):
        return None
    nominal_s = schedule_s[attempts]
    if slow_down and retry_after_s is None:
        nominal_s *= 2
    delay_s = nominal_s * (1 + jitter * (2 * rand() - 1))
    if retry_after_s is not None:
        delay_s = max(delay_s, min(retry_after_s, max(schedule_s)))
    return delay_s
