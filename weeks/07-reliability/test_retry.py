"""Lab: a retry decorator — capped exponential backoff, full jitter, a deadline, a predicate.

The tests inject ``sleep``/``async_sleep``, ``clock`` and ``rand``: time is fake, so they run in
milliseconds and every delay is observable. See README §2 "Retries that do not make things worse".
"""

from __future__ import annotations

import asyncio
import inspect
import statistics
from collections.abc import Callable

import pytest
from labs.week07_reliability.retry import retry

LESSON = "weeks/07-reliability/README.md, §2"


class FakeTime:
    """A clock that only moves when the code under test sleeps (or a call takes time)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"expected a non-negative delay; got sleep({seconds}); look at {LESSON}"
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def failing(times: int, error: Callable[[], Exception] = ConnectionError, result: str = "ok",
            cost: float = 0.0, fake: FakeTime | None = None) -> tuple[Callable[[], str], list[int]]:
    """A function that raises ``error()`` for its first ``times`` calls, then returns ``result``."""
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if fake is not None:
            fake.now += cost
        if len(calls) <= times:
            raise error()
        return result

    return fn, calls


def test_transient_failures_are_retried_until_success() -> None:
    fake = FakeTime()
    fn, calls = failing(2)
    wrapped = retry(attempts=5, base=0.1, cap=2.0, sleep=fake.sleep, clock=fake.clock)(fn)
    assert wrapped() == "ok", f"expected the value of the third call; look at {LESSON}"
    assert len(calls) == 3, (f"expected 3 calls (2 ConnectionErrors, then success); got {len(calls)}; "
                             f"look at {LESSON}")
    assert len(fake.sleeps) == 2, f"expected a sleep before each of the 2 retries; got {fake.sleeps}"
    assert wrapped.__name__ == "fn", "expected functools.wraps to keep the function's name"


def test_gives_up_after_max_attempts_with_the_original_error() -> None:
    fake = FakeTime()
    fn, calls = failing(100, error=lambda: ConnectionError("still down"))
    wrapped = retry(attempts=4, base=0.01, cap=0.1, deadline=None, sleep=fake.sleep, clock=fake.clock)(fn)
    with pytest.raises(ConnectionError, match="still down"):
        wrapped()
    assert len(calls) == 4, (f"expected exactly attempts=4 calls then the last error re-raised; got "
                             f"{len(calls)} calls; look at {LESSON}")


def test_backoff_is_exponential_and_capped() -> None:
    fake = FakeTime()
    fn, _ = failing(100)
    wrapped = retry(attempts=7, base=0.1, cap=1.0, deadline=None, sleep=fake.sleep, clock=fake.clock,
                    rand=lambda: 0.5)(fn)
    with pytest.raises(ConnectionError):
        wrapped()
    expected = [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]  # rand() * min(cap, base * 2**(n-1))
    assert fake.sleeps == pytest.approx(expected), (
        f"with rand() = 0.5, base=0.1, cap=1.0 expected delays {expected}; got "
        f"{[round(s, 4) for s in fake.sleeps]}. The delay before retry n is rand() * min(cap, base * "
        f"2**(n-1)); look at {LESSON}")


def test_delays_use_full_jitter() -> None:
    """With the real random source, the first-retry delay spreads over the whole [0, base] range."""
    firsts = []
    for _ in range(300):
        fake = FakeTime()
        fn, _ = failing(1)
        retry(attempts=2, base=1.0, cap=8.0, sleep=fake.sleep, clock=fake.clock)(fn)()
        firsts.append(fake.sleeps[0])
    spread = (min(firsts), max(firsts), statistics.pstdev(firsts))
    assert spread[0] < 0.1 and spread[1] > 0.9 and spread[2] > 0.2, (
        f"expected 300 first-retry delays spread uniformly over [0, 1.0] (full jitter); got min "
        f"{spread[0]:.3f}, max {spread[1]:.3f}, stdev {spread[2]:.3f}. Identical delays make every "
        f"client that failed together retry together — the thundering herd; look at {LESSON}")


def test_stops_before_the_deadline() -> None:
    fake = FakeTime()
    fn, calls = failing(100, cost=0.5, fake=fake)  # each call takes 0.5 s of fake time
    sleep_ends: list[float] = []

    def sleep(seconds: float) -> None:
        fake.sleep(seconds)
        sleep_ends.append(fake.now)

    wrapped = retry(attempts=20, base=0.2, cap=2.0, deadline=3.0, sleep=sleep, clock=fake.clock,
                    rand=lambda: 0.999)(fn)
    with pytest.raises(ConnectionError):
        wrapped()
    assert sleep_ends and max(sleep_ends) <= 3.0 + 1e-9, (
        f"expected no backoff sleep to end after the 3.0 s deadline; sleeps ended at "
        f"{[round(t, 2) for t in sleep_ends]} (the caller stopped waiting long ago); look at {LESSON}")
    assert 3 <= len(calls) <= 5, (
        f"expected the retries to stop once the next one could not start by the deadline (about 4 "
        f"calls); got {len(calls)} calls for a 3 s budget; look at {LESSON}")


class HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def test_non_retryable_errors_are_raised_at_once() -> None:
    fake = FakeTime()
    fn, calls = failing(100, error=lambda: ValueError("bad input"))
    wrapped = retry(attempts=5, base=0.1, sleep=fake.sleep, clock=fake.clock)(fn)
    with pytest.raises(ValueError):
        wrapped()
    assert len(calls) == 1 and not fake.sleeps, (
        f"expected a ValueError (not transient by default) to be raised after 1 call with no sleep; "
        f"got {len(calls)} calls and sleeps {fake.sleeps}. Retrying a bug only multiplies load; "
        f"look at {LESSON}")

    def server_errors_only(exc: BaseException) -> bool:
        return isinstance(exc, HTTPError) and exc.status >= 500

    for status, expected_calls in ((503, 3), (400, 1)):
        fake = FakeTime()
        fn, calls = failing(100, error=lambda status=status: HTTPError(status))
        wrapped = retry(attempts=3, base=0.1, retry_on=server_errors_only, sleep=fake.sleep,
                        clock=fake.clock)(fn)
        with pytest.raises(HTTPError):
            wrapped()
        assert len(calls) == expected_calls, (
            f"with retry_on=server_errors_only, an HTTP {status} should be called {expected_calls} "
            f"time(s); got {len(calls)}; look at {LESSON}")


def test_async_functions_are_retried_without_blocking_the_loop() -> None:
    fake = FakeTime()
    calls: list[int] = []

    async def fetch() -> str:
        calls.append(1)
        await asyncio.sleep(0)
        if len(calls) < 3:
            raise TimeoutError
        return "fetched"

    def blocking_sleep(seconds: float) -> None:
        raise AssertionError(f"time.sleep-style sleep({seconds}) called from async code: it blocks "
                             f"the event loop; await async_sleep instead; look at {LESSON}")

    wrapped = retry(attempts=5, base=0.1, sleep=blocking_sleep, async_sleep=fake.async_sleep,
                    clock=fake.clock)(fetch)
    assert inspect.iscoroutinefunction(wrapped), (
        f"expected retry() of an async def to return an async def (so `await` works); look at {LESSON}")
    assert asyncio.run(wrapped()) == "fetched"
    assert len(calls) == 3 and len(fake.sleeps) == 2, (
        f"expected 3 calls and 2 awaited sleeps; got {len(calls)} calls, sleeps {fake.sleeps}")
