"""A circuit breaker: stop calling a dependency that keeps failing, and probe it now and then.

    closed ──(failure_threshold consecutive failures)──▶ open
    open ──(reset_timeout_s elapsed: at exactly that moment)──▶ half-open
    half-open ──(the one trial call succeeds)──▶ closed
    half-open ──(the trial call fails)──▶ open (the timer starts again)

Your task (see weeks/07-reliability/README.md, section 'Circuit breakers'):
implement :class:`CircuitBreaker`. Read time only from
the injected ``clock`` (the tests move it by hand), and make it safe to share between threads.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

LESSON = "see weeks/07-reliability/README.md, section 'Circuit breakers'"


class BreakerState(StrEnum):
    """A ``StrEnum``, so each state is also its word: ``BreakerState.HALF_OPEN == "half-open"``,
    and logs, metric labels and JSON show it without a conversion."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitOpenError(RuntimeError):
    """Raised instead of calling the dependency while the circuit is open (or its trial is busy).

    ``retry_after_s`` is how long until the breaker will let a trial through: what an HTTP
    service puts in ``Retry-After`` (as ``max(1, ceil(retry_after_s))``). While another caller's
    trial is running it is 0 — the trial's outcome is due any moment.
    """

    def __init__(self, retry_after_s: float, message: str = "") -> None:
        super().__init__(message or f"circuit open; next trial in {retry_after_s:.2f}s")
        self.retry_after_s = retry_after_s


class CircuitBreaker:
    """Thread-safe breaker; ``call`` for functions, ``call_async`` for coroutine functions."""

    def __init__(self, *, failure_threshold: int, reset_timeout_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``failure_threshold`` consecutive failures open the circuit; ``reset_timeout_s`` seconds
        later (by ``clock``) it becomes half-open — at exactly ``reset_timeout_s``, not after it.
        A threshold below 1 or a timeout of 0 or less is a ``ValueError``."""
        raise NotImplementedError(LESSON)

    @property
    def state(self) -> BreakerState:
        """The :class:`BreakerState` now — an open circuit whose ``reset_timeout_s`` has passed
        reads as half-open, even before anyone calls."""
        raise NotImplementedError(LESSON)

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``fn`` through the breaker and return its result or re-raise its exception.

        Open: raise :class:`CircuitOpenError` (with ``retry_after_s``, the time left until
        half-open) without calling ``fn``. Half-open: let exactly one trial call through (others
        get ``CircuitOpenError`` while it runs); its success closes the circuit, its failure
        reopens it for a full ``reset_timeout_s``. Closed: count consecutive failures; a success
        resets the count. Every cycle behaves like the first: after a recovery, the next outage
        opens the circuit after ``failure_threshold`` failures and gets its own trial.
        """
        raise NotImplementedError(LESSON)

    async def call_async(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """The same as :meth:`call` for a coroutine function: ``await fn(*args, **kwargs)``."""
        raise NotImplementedError(LESSON)
