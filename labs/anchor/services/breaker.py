"""Week 07's circuit breaker, given: the worker keeps one per endpoint and calls it with ``call_async``.

    closed ──(failure_threshold consecutive failures)──▶ open
    open ──(reset_timeout_s elapsed: at exactly that moment)──▶ half-open
    half-open ──(the one trial call succeeds)──▶ closed
    half-open ──(the trial call fails)──▶ open (the timer starts again)

An endpoint that keeps failing would otherwise take a worker slot (and up to ``http_timeout_s``)
per pending delivery; while its circuit is open the worker puts deliveries back, uncounted, until
``retry_after_s`` has passed, and one trial at a time probes it. Same API and names as week 07
(``CircuitBreaker``, ``BreakerState``, ``CircuitOpenError.retry_after_s``); not re-taught here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


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
        if failure_threshold < 1 or reset_timeout_s <= 0:
            raise ValueError(f"need failure_threshold >= 1 and reset_timeout_s > 0; got "
                             f"failure_threshold={failure_threshold}, reset_timeout_s={reset_timeout_s}")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._current_state()

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        is_trial = self._admit()
        try:
            result = fn(*args, **kwargs)
        except Exception:
            self._record(success=False, is_trial=is_trial)
            raise
        except BaseException:  # KeyboardInterrupt, SystemExit: not the dependency's fault
            self._release(is_trial)
            raise
        self._record(success=True, is_trial=is_trial)
        return result

    async def call_async(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        is_trial = self._admit()
        try:
            result = await fn(*args, **kwargs)
        except Exception:
            self._record(success=False, is_trial=is_trial)
            raise
        except BaseException:  # cancelled: we learned nothing about the dependency
            self._release(is_trial)
            raise
        self._record(success=True, is_trial=is_trial)
        return result

    # ------------------------------------------------------------------ state machine (lock held)

    def _current_state(self) -> BreakerState:
        # Open → half-open is driven by time, so it is evaluated whenever anyone looks. `>=`: at
        # exactly reset_timeout_s the wait is over (a test clock lands on it to the digit).
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_timeout_s:
            self._state = BreakerState.HALF_OPEN
        return self._state

    def _admit(self) -> bool:
        """Let a call through (returning whether it is the half-open trial) or raise."""
        with self._lock:
            state = self._current_state()
            if state is BreakerState.OPEN:
                raise CircuitOpenError(self.reset_timeout_s - (self._clock() - self._opened_at))
            if state is BreakerState.HALF_OPEN:
                if self._trial_running:
                    raise CircuitOpenError(0.0, "circuit half-open; a trial call is already running")
                self._trial_running = True
                return True
            return False

    def _record(self, *, success: bool, is_trial: bool) -> None:
        with self._lock:
            if is_trial:
                self._trial_running = False
                if success:
                    self._state, self._failures = BreakerState.CLOSED, 0
                else:
                    self._trip()
            elif self._state is BreakerState.CLOSED:
                # Only calls admitted while closed count; a straggler that finishes after the
                # circuit opened must not close it again or reset the evidence.
                self._failures = 0 if success else self._failures + 1
                if self._failures >= self.failure_threshold:
                    self._trip()

    def _release(self, is_trial: bool) -> None:
        if is_trial:
            with self._lock:
                self._trial_running = False

    def _trip(self) -> None:
        self._state, self._opened_at, self._failures = BreakerState.OPEN, self._clock(), 0
