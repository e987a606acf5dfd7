"""A circuit breaker: stop calling a dependency that keeps failing, and probe it now and then.

    closed ──(failure_threshold consecutive failures)──▶ open
    open ──(reset_timeout elapsed)──▶ half-open
    half-open ──(the one trial call succeeds)──▶ closed
    half-open ──(the trial call fails)──▶ open (the timer starts again)

Your task (README §3 "Circuit breakers"): implement :class:`CircuitBreaker`. Read time only from
the injected ``clock`` (the tests move it by hand), and make it safe to share between threads.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

LESSON = "see weeks/07-reliability/README.md, section '3. Circuit breakers'"


class CircuitOpenError(RuntimeError):
    """Raised instead of calling the dependency while the circuit is open (or its trial is busy)."""


class CircuitBreaker:
    """Thread-safe breaker; ``call`` for functions, ``call_async`` for coroutine functions."""

    def __init__(self, *, failure_threshold: int = 5, reset_timeout: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``failure_threshold`` consecutive failures open the circuit; ``reset_timeout`` seconds
        later (by ``clock``) it becomes half-open."""
        raise NotImplementedError(LESSON)

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"`` — an open circuit whose ``reset_timeout`` has
        passed reads as half-open, even before anyone calls."""
        raise NotImplementedError(LESSON)

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``fn`` through the breaker and return its result or re-raise its exception.

        Open: raise :class:`CircuitOpenError` without calling ``fn``. Half-open: let exactly one
        trial call through (others get ``CircuitOpenError`` while it runs); its success closes
        the circuit, its failure reopens it. Closed: count consecutive failures; a success resets
        the count.
        """
        raise NotImplementedError(LESSON)

    async def call_async(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """The same as :meth:`call` for a coroutine function: ``await fn(*args, **kwargs)``."""
        raise NotImplementedError(LESSON)
