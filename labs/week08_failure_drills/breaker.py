"""A circuit breaker per dependency — the one you built in week 07, kept small.

Closed: calls go through, consecutive failures are counted. Open: calls are refused at once for
``reset_after_s`` — a dead dependency costs nothing instead of a timeout per request. Half-open:
one trial call is let through; its success closes the breaker, its failure opens it again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(self, name: str, failures: int = 3, reset_after_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.failures_to_open = failures
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._lock = threading.Lock()  # request handlers run on many threads
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_started_at: float | None = None

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self._opened_at >= self.reset_after_s else "open"

    def allow(self) -> bool:
        """May a call go to the dependency now? In half-open, only one caller gets a yes."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            now = self._clock()
            # A trial whose caller never reported back must not wedge the breaker: after
            # another reset period, let a new trial through.
            started = self._trial_started_at
            if state == "half-open" and (started is None or now - started >= self.reset_after_s):
                self._trial_started_at = now
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial_started_at = 0, None, None

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_started_at is not None or self._failures >= self.failures_to_open:
                self._opened_at = self._clock()
            self._trial_started_at = None

    def retry_after_s(self) -> int:
        """Whole seconds until the next trial call: an honest ``Retry-After`` (at least 1)."""
        with self._lock:
            if self._opened_at is None:
                return 1
            remaining = self.reset_after_s - (self._clock() - self._opened_at)
            return max(1, math.ceil(remaining))
