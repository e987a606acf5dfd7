"""Lab: a circuit breaker — closed → open → half-open → closed, driven by an injectable clock.

See weeks/07-reliability/README.md, section 'Circuit breakers'. The fake clock starts at
1000 s, not 0, so "time since the circuit opened" must really be a difference.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from labs.week07_reliability.breaker import BreakerState, CircuitBreaker, CircuitOpenError

LESSON = "weeks/07-reliability/README.md, section 'Circuit breakers'"


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
    breaker, dep = CircuitBreaker(failure_threshold=3, reset_timeout_s=10, clock=Clock()), Dependency()
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
    breaker, dep = CircuitBreaker(failure_threshold=3, reset_timeout_s=10, clock=Clock()), Dependency()
    fail_times(breaker, dep, 2)
    dep.healthy = True
    breaker.call(dep)
    fail_times(breaker, dep, 2)
    assert breaker.state == "closed", (f"expected closed: the failures were not consecutive (2, success, 2);"
                                       f" got {breaker.state}; look at {LESSON}")


def test_half_opens_after_the_reset_timeout() -> None:
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=2, reset_timeout_s=30, clock=clock), Dependency()
    fail_times(breaker, dep, 2)
    clock.now += 29
    with pytest.raises(CircuitOpenError):
        breaker.call(dep)
    clock.now += 1  # exactly reset_timeout_s = 30 s since the circuit opened
    at_timeout = breaker.state
    if at_timeout != "half-open":
        clock.now += 0.5
        later = breaker.state
        assert later != "half-open", (
            f"expected half-open at exactly reset_timeout_s=30 s after the circuit opened; it was still "
            f"{at_timeout} at 30 s and half-opened only later (at 30.5 s): it half-opens late. Compare "
            f"elapsed >= reset_timeout_s, not >; look at {LESSON}")
        pytest.fail(f"expected half-open once reset_timeout_s=30 s has passed since the circuit opened; got "
                    f"{at_timeout} at 30 s and {later} at 30.5 s. A breaker that never half-opens never "
                    f"recovers; look at {LESSON}")
    dep.healthy = True
    assert breaker.call(dep) == "ok"
    assert breaker.state == "closed", (f"expected a successful trial call to close the circuit; got "
                                       f"{breaker.state}; look at {LESSON}")


def test_a_failed_trial_reopens_for_a_full_timeout() -> None:
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=2, reset_timeout_s=30, clock=clock), Dependency()
    fail_times(breaker, dep, 2)
    clock.now += 30
    fail_times(breaker, dep, 1)  # the trial fails
    assert breaker.state == "open", f"expected a failed trial to reopen the circuit; got {breaker.state}"
    clock.now += 29
    assert breaker.state == "open", (f"expected the reset timer to restart when the trial failed; it "
                                     f"half-opened after 29 s; look at {LESSON}")
    clock.now += 1
    assert breaker.state == "half-open", (
        f"expected half-open a full reset_timeout_s after the failed trial; got {breaker.state}; "
        f"look at {LESSON}")


def test_half_open_lets_exactly_one_trial_call_through() -> None:
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, clock=clock), Dependency()
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
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=10, clock=clock)
    awaited: list[int] = []

    async def down() -> None:
        awaited.append(1)
        await asyncio.sleep(0)
        raise TimeoutError

    async def scenario() -> list[str]:
        seen = []
        for _ in range(3):
            try:
                await breaker.call_async(down)
                seen.append("returned")
            except (TimeoutError, CircuitOpenError) as exc:
                seen.append(type(exc).__name__)
        return seen

    seen = asyncio.run(scenario())
    expected = ["TimeoutError", "TimeoutError", "CircuitOpenError"]
    assert seen == expected and len(awaited) == 2 and breaker.state == "open", (
        f"expected 2 awaited failures then a fast CircuitOpenError ({expected}); got {seen}, the "
        f"coroutine ran {len(awaited)} times and the state is {breaker.state}. A failure happens at the "
        f"await, so call_async must await fn(*args, **kwargs) inside the breaker and count it there; "
        f"look at {LESSON}")


def test_states_are_the_breaker_state_enum() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, clock=Clock())
    assert isinstance(breaker.state, BreakerState) and breaker.state is BreakerState.CLOSED, (
        f"expected .state to be a BreakerState (a StrEnum: BreakerState.CLOSED == 'closed'); got "
        f"{breaker.state!r}; look at {LESSON}")
    fail_times(breaker, Dependency(), 1)
    assert breaker.state is BreakerState.OPEN, (
        f"expected BreakerState.OPEN after failure_threshold=1 failure; got {breaker.state!r}; "
        f"look at {LESSON}")


@pytest.mark.parametrize(("threshold", "timeout_s"), [(0, 10), (-1, 10), (3, 0), (3, -5)])
def test_nonsense_settings_are_refused(threshold: int, timeout_s: float) -> None:
    try:
        CircuitBreaker(failure_threshold=threshold, reset_timeout_s=timeout_s, clock=Clock())
    except ValueError:
        return
    pytest.fail(f"expected ValueError for failure_threshold={threshold}, reset_timeout_s={timeout_s}: a "
                f"breaker that opens before any failure, or never waits, is a configuration bug to "
                f"report at start-up, not at 3 a.m.; look at {LESSON}")


def test_an_open_circuit_says_when_to_come_back() -> None:
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=2, reset_timeout_s=30, clock=clock), Dependency()
    fail_times(breaker, dep, 2)
    clock.now += 12
    with pytest.raises(CircuitOpenError) as raised:
        breaker.call(dep)
    waited = getattr(raised.value, "retry_after_s", None)
    assert waited == pytest.approx(18), (
        f"expected CircuitOpenError.retry_after_s = 18.0 (opened 12 s ago, reset_timeout_s=30): it is "
        f"what a service puts in Retry-After; got {waited!r}; look at {LESSON}")


def test_a_second_outage_gets_the_same_treatment_as_the_first() -> None:
    """Recovery must leave no residue: threshold failures open it again, and there is a new trial."""
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=3, reset_timeout_s=10, clock=clock), Dependency()
    for outage in (1, 2, 3):
        fail_times(breaker, dep, 2)
        assert breaker.state == "closed", (
            f"outage {outage}: expected closed after 2 of failure_threshold=3 failures; got {breaker.state}. "
            f"After a recovery the count starts again from zero; look at {LESSON}")
        fail_times(breaker, dep, 1)
        assert breaker.state == "open", (
            f"outage {outage}: expected open after exactly failure_threshold=3 failures; got "
            f"{breaker.state}. After a recovery the count must start again from zero; look at {LESSON}")
        clock.now += 10
        dep.healthy = True
        calls = dep.calls
        got = outcome(breaker, dep)
        assert got == "'ok'" and dep.calls == calls + 1, (
            f"outage {outage}: expected the first call after reset_timeout_s to run as the trial and "
            f"return 'ok'; got {got} (dependency called {dep.calls - calls} time(s)). The trial flag must "
            f"be cleared when a trial ends, or every later half-open rejects its trial; look at {LESSON}")
        assert breaker.state == "closed", (
            f"outage {outage}: expected the successful trial to close it; got {breaker.state}; "
            f"look at {LESSON}")


def test_successful_async_calls_pass_through_and_count_as_successes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=10, clock=clock)
    healthy = [True]

    async def fetch(value: int, *, twice: bool = False) -> int:
        await asyncio.sleep(0)
        if not healthy[0]:
            raise ConnectionError("down")
        return value * (2 if twice else 1)

    async def scenario() -> list[object]:
        seen: list[object] = [await breaker.call_async(fetch, 21, twice=True)]
        healthy[0] = False
        with pytest.raises(ConnectionError):
            await breaker.call_async(fetch, 1)
        healthy[0] = True
        seen.append(await breaker.call_async(fetch, 7))  # resets the count: 1 failure, then success
        healthy[0] = False
        with pytest.raises(ConnectionError):
            await breaker.call_async(fetch, 1)
        seen.append(breaker.state)
        with pytest.raises(ConnectionError):
            await breaker.call_async(fetch, 1)
        seen.append(breaker.state)
        clock.now += 10
        healthy[0] = True
        seen.append(await breaker.call_async(fetch, 5))  # the trial
        seen.append(breaker.state)
        return seen

    try:
        seen = asyncio.run(scenario())
    except NotImplementedError:
        raise
    except Exception as exc:
        pytest.fail(f"a successful coroutine through call_async raised {type(exc).__name__}: {exc}. "
                    f"call_async must await fn(*args, **kwargs) and return its result; look at {LESSON}")
    expected = [42, 7, "closed", "open", 5, "closed"]
    assert seen == expected, (
        f"expected results, states and trial {expected} (args and kwargs passed through, a success "
        f"resets the count, an async trial closes the circuit); got {seen}; look at {LESSON}")


def test_a_trial_that_is_interrupted_does_not_wedge_the_breaker() -> None:
    """A cancelled trial (a deploy, a client that went away) says nothing about the dependency."""
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, clock=clock), Dependency()
    fail_times(breaker, dep, 1)
    clock.now += 5

    async def cancelled() -> str:
        raise asyncio.CancelledError

    async def scenario() -> None:
        with pytest.raises(asyncio.CancelledError):
            await breaker.call_async(cancelled)

    asyncio.run(scenario())
    dep.healthy = True
    got = outcome(breaker, dep)
    assert got == "'ok'" and breaker.state == "closed", (
        f"expected the next call after a cancelled trial to run as the new trial and close the circuit; "
        f"got {got}, state {breaker.state}. Release the trial when it ends with a BaseException too "
        f"(CancelledError, KeyboardInterrupt) without counting it as a failure; look at {LESSON}")


def test_a_straggler_success_does_not_close_an_open_circuit() -> None:
    """A call admitted while closed that succeeds after the circuit opened is old news."""
    clock = Clock()
    breaker, dep = CircuitBreaker(failure_threshold=2, reset_timeout_s=30, clock=clock), Dependency()
    entered, release = threading.Event(), threading.Event()

    def slow_success() -> str:
        entered.set()
        release.wait(5)
        return "late"

    straggler = threading.Thread(target=lambda: breaker.call(slow_success))
    straggler.start()
    try:
        assert entered.wait(5), "the slow call never started"
        fail_times(breaker, dep, 2)
    finally:
        release.set()
        straggler.join(5)
    assert breaker.state == "open", (
        f"expected the circuit to stay open: 2 failures opened it, and a success from a call that "
        f"started before that must not close it or skip the trial; got {breaker.state}. Count an outcome "
        f"only if the circuit is still in the state the call was admitted in; look at {LESSON}")
