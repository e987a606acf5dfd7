"""Lab: a retry decorator — capped exponential backoff, full jitter, a deadline, a predicate.

The tests inject ``sleep``/``async_sleep``, ``clock`` and ``rand``: time is fake, so they run in
milliseconds and every delay is observable. The fake clock starts at 1000 s, not 0, as a real
monotonic clock does: "seconds since the first call" must be a difference of two readings.
See weeks/07-reliability/README.md, section 'Retries that do not make things worse'.
"""

from __future__ import annotations

import asyncio
import inspect
import statistics
from collections.abc import Callable

import pytest

from labs.week07_reliability.retry import full_jitter, is_transient, retry

LESSON = "weeks/07-reliability/README.md, section 'Retries that do not make things worse'"


class FakeTime:
    """A clock that only moves when the code under test sleeps (or a call takes time)."""

    def __init__(self) -> None:
        self.now = 1000.0
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
    wrapped = retry(attempts=5, base_s=0.1, cap_s=2.0, sleep=fake.sleep, clock=fake.clock)(fn)
    assert wrapped() == "ok", f"expected the value of the third call; look at {LESSON}"
    assert len(calls) == 3, (f"expected 3 calls (2 ConnectionErrors, then success); got {len(calls)}; "
                             f"look at {LESSON}")
    assert len(fake.sleeps) == 2, f"expected a sleep before each of the 2 retries; got {fake.sleeps}"
    assert wrapped.__name__ == "fn", "expected functools.wraps to keep the function's name"


def test_gives_up_after_max_attempts_with_the_original_error() -> None:
    fake = FakeTime()
    fn, calls = failing(100, error=lambda: ConnectionError("still down"))
    wrapped = retry(attempts=4, base_s=0.01, cap_s=0.1, deadline_s=None, sleep=fake.sleep,
                    clock=fake.clock)(fn)
    with pytest.raises(ConnectionError, match="still down"):
        wrapped()
    assert len(calls) == 4, (f"expected exactly attempts=4 calls then the last error re-raised; got "
                             f"{len(calls)} calls; look at {LESSON}")


def test_backoff_is_exponential_and_capped() -> None:
    fake = FakeTime()
    fn, _ = failing(100)
    wrapped = retry(attempts=7, base_s=0.1, cap_s=1.0, deadline_s=None, sleep=fake.sleep, clock=fake.clock,
                    rand=lambda: 0.5)(fn)
    with pytest.raises(ConnectionError):
        wrapped()
    expected = [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]  # rand() * min(cap, base * 2**(n-1))
    assert fake.sleeps == pytest.approx(expected), (
        f"with rand() = 0.5, base_s=0.1, cap_s=1.0 expected delays {expected}; got "
        f"{[round(s, 4) for s in fake.sleeps]}. The delay before retry n is rand() * min(cap, base * "
        f"2**(n-1)); look at {LESSON}")


def test_delays_use_full_jitter() -> None:
    """With the real random source, the first-retry delay spreads over the whole [0, base] range."""
    firsts = []
    for _ in range(300):
        fake = FakeTime()
        fn, _ = failing(1)
        retry(attempts=2, base_s=1.0, cap_s=8.0, sleep=fake.sleep, clock=fake.clock)(fn)()
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

    wrapped = retry(attempts=20, base_s=0.2, cap_s=2.0, deadline_s=3.0, sleep=sleep, clock=fake.clock,
                    rand=lambda: 0.999)(fn)
    with pytest.raises(ConnectionError):
        wrapped()
    assert len(calls) > 1, (
        f"expected retries within deadline_s=3.0 (about 4 calls, each 0.5 s); it gave up after "
        f"{len(calls)} call. Is elapsed measured from the first call — clock() - started, with started "
        f"read before it? This clock started at 1000 s; look at {LESSON}")
    ends = [round(t - 1000, 2) for t in sleep_ends]
    assert sleep_ends and max(sleep_ends) <= 1000 + 3.0 + 1e-9, (
        f"expected no backoff sleep to end after the 3.0 s deadline; sleeps ended at {ends} s after "
        f"the first call (the caller stopped waiting long ago); look at {LESSON}")
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
    wrapped = retry(attempts=5, base_s=0.1, sleep=fake.sleep, clock=fake.clock)(fn)
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
        wrapped = retry(attempts=3, base_s=0.1, retry_on=server_errors_only, sleep=fake.sleep,
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

    wrapped = retry(attempts=5, base_s=0.1, sleep=blocking_sleep, async_sleep=fake.async_sleep,
                    clock=fake.clock)(fetch)
    assert inspect.iscoroutinefunction(wrapped), (
        f"expected retry() of an async def to return an async def (so `await` works); look at {LESSON}")
    assert asyncio.run(wrapped()) == "fetched"
    assert len(calls) == 3 and len(fake.sleeps) == 2, (
        f"expected 3 calls and 2 awaited sleeps; got {len(calls)} calls, sleeps {fake.sleeps}")


def test_the_helpers_do_what_their_names_say() -> None:
    transient = [ConnectionError(), ConnectionResetError(), ConnectionRefusedError(), TimeoutError()]
    permanent = [ValueError(), KeyError("k"), RuntimeError(), HTTPError(400)]
    wrong = [repr(e) for e in transient if not is_transient(e)]
    wrong += [repr(e) for e in permanent if is_transient(e)]
    assert not wrong, (f"expected is_transient to be True for ConnectionError and TimeoutError (and their "
                       f"subclasses) and False otherwise; wrong for {wrong}; look at {LESSON}")
    got = [full_jitter(n, base_s=0.1, cap_s=1.0, rand=lambda: 1.0) for n in range(1, 7)]
    assert got == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0]), (
        f"expected full_jitter(n, base_s=0.1, cap_s=1.0) with rand() = 1 to be min(cap_s, base_s * 2**(n-1)) "
        f"for n = 1..6; got {got}; look at {LESSON}")
    least = full_jitter(3, base_s=0.1, cap_s=1.0, rand=lambda: 0.0)
    assert least == 0.0, (
        f"expected full_jitter with rand() = 0 to be 0.0 — full jitter draws from [0, ceiling), not "
        f"[base_s, ceiling); got {least}; look at {LESSON}")


@pytest.mark.parametrize("kwargs", [{"attempts": 0}, {"base_s": 0}, {"base_s": -0.1},
                                    {"base_s": 1.0, "cap_s": 0.5}], ids=str)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    try:
        retry(**kwargs)  # type: ignore[arg-type]
    except ValueError:
        return
    pytest.fail(f"expected retry({', '.join(f'{k}={v}' for k, v in kwargs.items())}) to raise ValueError "
                f"(attempts >= 1 and 0 < base_s <= cap_s): a policy that never calls, never waits or "
                f"caps below its base is a bug to report at once; look at {LESSON}")


def test_async_retry_gives_up_exactly_like_the_sync_one() -> None:
    def run(fn: Callable[[], object], **kwargs: object) -> tuple[BaseException | None, FakeTime]:
        fake = FakeTime()
        wrapped = retry(sleep=fake.sleep, async_sleep=fake.async_sleep, clock=fake.clock, rand=lambda: 0.5,
                        **kwargs)(fn)  # type: ignore[arg-type]
        try:
            asyncio.run(wrapped())  # type: ignore[arg-type]
        except Exception as exc:  # the error the caller sees
            if isinstance(exc, NotImplementedError):
                raise
            return exc, fake
        return None, fake

    calls: list[int] = []
    last = ConnectionError("still down")

    async def down() -> None:
        calls.append(1)
        await asyncio.sleep(0)
        raise last if len(calls) == 4 else ConnectionError(f"attempt {len(calls)}")

    error, fake = run(down, attempts=4, base_s=0.1, cap_s=0.15, deadline_s=None)
    assert len(calls) == 4 and error is last, (
        f"expected attempts=4 awaited calls, then the last error re-raised unchanged; got {len(calls)} "
        f"calls and {error!r}; look at {LESSON}")
    assert fake.sleeps == pytest.approx([0.05, 0.075, 0.075]), (
        f"expected the async backoff to be full_jitter like the sync one: with rand() = 0.5, base_s=0.1, "
        f"cap_s=0.15 the delays are [0.05, 0.075, 0.075]; got {fake.sleeps}; look at {LESSON}")

    calls.clear()

    async def bad_input() -> None:
        calls.append(1)
        raise ValueError("bad input")

    error, fake = run(bad_input, attempts=4, base_s=0.1)
    assert isinstance(error, ValueError) and len(calls) == 1 and not fake.sleeps, (
        f"expected a non-retryable error from a coroutine to be raised at once (1 call, no sleep); got "
        f"{error!r} after {len(calls)} calls and sleeps {fake.sleeps}; look at {LESSON}")

    calls.clear()

    async def slow_and_down() -> None:
        calls.append(1)
        fake_now[0].now += 0.5
        raise TimeoutError

    fake_now = [FakeTime()]
    wrapped = retry(attempts=20, base_s=0.2, cap_s=2.0, deadline_s=3.0, async_sleep=fake_now[0].async_sleep,
                    clock=fake_now[0].clock, rand=lambda: 0.999)(slow_and_down)
    with pytest.raises(TimeoutError):
        asyncio.run(wrapped())
    assert 3 <= len(calls) <= 5 and fake_now[0].now <= 1000 + 3.0 + 0.5 + 1e-9, (
        f"expected the async retry to respect deadline_s=3.0 like the sync one (about 4 calls); got "
        f"{len(calls)} calls ending {fake_now[0].now - 1000:.2f} s after the first; look at {LESSON}")
