"""Retry a flaky call with capped exponential backoff, full jitter, a deadline and a predicate.

Three rules keep a retry from turning one failure into an outage:

* **full jitter** — the delay before retry ``n`` is uniform in ``[0, min(cap_s, base_s * 2**(n-1))]``,
  so clients that failed together do not come back together (the thundering herd);
* **a deadline** — the caller has a budget; a retry that cannot start before it runs out is pointless;
* **a predicate** — only transient errors are retried; a 400 or a bug fails the same way every time.

``sleep``, ``async_sleep``, ``clock`` and ``rand`` are injectable so tests run in microseconds
with a fake clock, and so a caller can share one clock with its timeouts.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def is_transient(exc: BaseException) -> bool:
    """The default predicate: network-level failures that the next attempt may not meet."""
    return isinstance(exc, ConnectionError | TimeoutError)


def full_jitter(retry_number: int, *, base_s: float, cap_s: float,
                rand: Callable[[], float] = random.random) -> float:
    """The delay before retry ``n`` (1 = the first retry): ``rand() * min(cap_s, base_s * 2**(n-1))``."""
    return rand() * min(cap_s, base_s * 2 ** (retry_number - 1))


@dataclass(frozen=True)
class _Policy:
    attempts: int
    base_s: float
    cap_s: float
    deadline_s: float | None
    retry_on: Callable[[BaseException], bool]
    rand: Callable[[], float]

    def delay_after(self, error: Exception, attempt: int, elapsed: float) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up and re-raise ``error``."""
        if attempt >= self.attempts or not self.retry_on(error):
            return None
        delay = full_jitter(attempt, base_s=self.base_s, cap_s=self.cap_s, rand=self.rand)
        # Give up *before* sleeping when the retry could not start inside the caller's budget.
        if self.deadline_s is not None and elapsed + delay > self.deadline_s:
            return None
        return delay


def retry(
    *,
    attempts: int = 4,
    base_s: float = 0.1,
    cap_s: float = 2.0,
    deadline_s: float | None = 10.0,
    retry_on: Callable[[BaseException], bool] = is_transient,
    sleep: Callable[[float], None] = time.sleep,
    async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
) -> Callable[[F], F]:
    """Decorate a function (sync or ``async def``) so transient failures are retried.

    ``attempts`` counts calls, not retries. ``deadline_s`` (seconds since the first call) bounds the
    whole operation: no sleep that would end after it is started. The last error is re-raised
    unchanged, so callers see the real failure rather than a wrapper.
    """
    if attempts < 1 or base_s <= 0 or cap_s < base_s:
        raise ValueError(f"need attempts >= 1 and 0 < base_s <= cap_s; got attempts={attempts}, "
                         f"base_s={base_s}, cap_s={cap_s}")
    policy = _Policy(attempts, base_s, cap_s, deadline_s, retry_on, rand)

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                started = clock()
                for attempt in itertools.count(1):
                    try:
                        return await fn(*args, **kwargs)
                    except Exception as error:
                        delay = policy.delay_after(error, attempt, clock() - started)
                        if delay is None:
                            raise
                    # Never time.sleep here: it would freeze every other task on the event loop.
                    await async_sleep(delay)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            for attempt in itertools.count(1):
                try:
                    return fn(*args, **kwargs)
                except Exception as error:
                    delay = policy.delay_after(error, attempt, clock() - started)
                    if delay is None:
                        raise
                sleep(delay)

        return wrapper  # type: ignore[return-value]

    return decorate
