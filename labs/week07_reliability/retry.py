"""Retry a flaky call with capped exponential backoff, full jitter, a deadline and a predicate.

Your task (see weeks/07-reliability/README.md, section 'Retries that do not make things worse'):
implement the three functions
below. ``retry`` must decorate both plain functions and ``async def`` functions, and use only the
injected ``sleep``/``async_sleep``/``clock``/``rand`` — the tests replace them with a fake clock.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

LESSON = "see weeks/07-reliability/README.md, section 'Retries that do not make things worse'"


def is_transient(exc: BaseException) -> bool:
    """The default retry predicate: True for ``ConnectionError`` and ``TimeoutError`` (and their
    subclasses), False for everything else — a ``ValueError`` or a 4xx fails the same way again."""
    raise NotImplementedError(LESSON)


def full_jitter(retry_number: int, *, base_s: float, cap_s: float,
                rand: Callable[[], float] = random.random) -> float:
    """The delay before retry ``n`` (1 = the first retry): ``rand() * min(cap_s, base_s * 2**(n-1))``.

    ``rand()`` returns a float in [0, 1): the delay is uniform between 0 and the capped exponential.
    """
    raise NotImplementedError(LESSON)


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

    * ``attempts`` counts calls (not retries); after the last one, re-raise the last error unchanged.
    * An error for which ``retry_on(error)`` is False is re-raised at once, with no sleep.
    * Before retry ``n`` wait ``full_jitter(n, base_s=base_s, cap_s=cap_s, rand=rand)`` seconds — with
      ``sleep`` for a plain function, ``await async_sleep`` for a coroutine function (a blocking
      sleep would freeze the event loop).
    * ``deadline_s`` (seconds since the first call, read from ``clock``; ``None`` = no deadline):
      never start a sleep that would end after it — give up and re-raise instead.
    * Keep the function's name and docstring (``functools.wraps``); an ``async def`` stays one,
      and behaves exactly like the plain one: same attempts, same delays, same final error.
    * ``attempts < 1``, ``base_s <= 0`` or ``cap_s < base_s`` is a ``ValueError`` when ``retry(...)``
      is called, before anything is decorated.
    """
    raise NotImplementedError(LESSON)
