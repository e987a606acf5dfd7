"""Lab: a circuit breaker — closed → open → half-open → closed, driven by an injectable clock.

See README §3 "Circuit breakers".
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from labs.week07_reliability.breaker import CircuitBreaker, CircuitOpenError

LESSON = "weeks/07-reliability/README.md, §3"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Dependency:
    """A downstream call we can break and repair; counts how often it is really called."""

    def __init__(self) -> None:
        self.healthy = True
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if not self.healthy:
            raise ConnectionError("dependency down")
        return "ok"


def outcome(breaker: CircuitBreaker, fn: Callable[[], str]) -> str:
    """What one call through the breaker did: its result, or the name of what it raised."""
    try:
        return repr(breaker.call(fn))
    except Exception as exc:
        return type(exc).__name__


def fail_times(breaker: CircuitBreaker, dep: Dependency, times: int) -> None:
    dep.healthy = False
    for _ in range(times):
        with pytest.raises(ConnectionError):
            breaker.call(dep)


def test_opens_after_threshold_consecutive_failures() -> None:
    breaker, dep = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=Clock()), Dependency()
    assert breaker.state == "closed"
    fail_times(breaker, dep, 2)
    assert breaker.state == "closed", f"expected closed after 2 of 3 failures; got {breaker.state}"
    fail_times(breaker, dep, 1)
    assert breaker.state == "open", (f"expected open after failure_threshold=3 consecutive failures; got "
                                     f"{breaker.state}; look at {LESSON}")
    calls = dep.calls
    got = outcome(breaker, dep)
    assert got == "CircuitOpenError" and dep.calls == calls, (
        f"expected an open circuit to fail fast with CircuitOpenError without calling the dependency; "
        f"got {got}, and it was called {dep.calls - calls} more time(s); look at {LESSON}")


def test_a_success_resets_the_failure_count() -> None:
    breaker, dep = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=Clock()), Dependency()
    fail_times(breaker, dep, 2)
    dep.healthy = True
    breaker.call(dep)
    fail_times(breaker, dep, 2)
    assert breaker.state == "closed", (f"expected closed: the failures were not consecutive (2, success, 2);"
                                       f" got {breaker.state}; look at {LESSON}")


def test_half_opens_after_the_reset_timeout() -> None:
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=2, reset_timeout=30, clock=clock), Dependency()
    fail_times(breaker, dep, 2)
    clock.now += 29.9
    with pytest.raises(CircuitOpenError):
        breaker.call(dep)
    clock.now += 0.1
    assert breaker.state == "half-open", (
        f"expected half-open once reset_timeout=30 s has passed since the circuit opened; got "
        f"{breaker.state}. A breaker that never half-opens never recovers; look at {LESSON}")
    dep.healthy = True
    assert breaker.call(dep) == "ok"
    assert breaker.state == "closed", (f"expected a successful trial call to close the circuit; got "
                                       f"{breaker.state}; look at {LESSON}")


def test_a_failed_trial_reopens_for_a_full_timeout() -> None:
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=2, reset_timeout=30, clock=clock), Dependency()
    fail_times(breaker, dep, 2)
    clock.now += 30
    fail_times(breaker, dep, 1)  # the trial fails
    assert breaker.state == "open", f"expected a failed trial to reopen the circuit; got {breaker.state}"
    clock.now += 29
    assert breaker.state == "open", (f"expected the reset timer to restart when the trial failed; it "
                                     f"half-opened after 29 s; look at {LESSON}")
    clock.now += 1
    assert breaker.state == "half-open"


def test_half_open_lets_exactly_one_trial_call_through() -> None:
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=1, reset_timeout=5, clock=clock), Dependency()
    fail_times(breaker, dep, 1)
    clock.now += 5
    entered, release = threading.Event(), threading.Event()
    results: list[str] = []

    def slow_trial() -> str:
        entered.set()
        release.wait(5)
        return "recovered"

    trial = threading.Thread(target=lambda: results.append(breaker.call(slow_trial)))
    trial.start()
    assert entered.wait(5), f"expected the first call after the timeout to run as the trial; look at {LESSON}"
    dep.healthy = True
    try:
        second = outcome(breaker, dep)
    finally:
        release.set()
        trial.join(5)
    assert second == "CircuitOpenError" and dep.calls == 1, (
        f"expected a second caller to get CircuitOpenError while the one trial runs; it got "
        f"{second} and the dependency was called {dep.calls - 1} extra time(s). Reserve the trial "
        f"under the lock before calling; look at {LESSON}")
    assert results == ["recovered"] and breaker.state == "closed", (
        f"expected the trial to return 'recovered' and its success to close the circuit; got "
        f"{results} and state {breaker.state}; look at {LESSON}")


def test_async_calls_go_through_the_same_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=10, clock=clock)
    awaited: list[int] = []

    async def down() -> None:
        awaited.append(1)
        await asyncio.sleep(0)
        raise TimeoutError

    async def scenario() -> None:
        for _ in range(2):
            with pytest.raises(TimeoutError):
                await breaker.call_async(down)
        with pytest.raises(CircuitOpenError):
            await breaker.call_async(down)

    asyncio.run(scenario())
    assert len(awaited) == 2 and breaker.state == "open", (
        f"expected 2 awaited failures then a fast CircuitOpenError; the coroutine ran {len(awaited)} "
        f"times and the state is {breaker.state}; look at {LESSON}")
