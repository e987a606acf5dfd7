"""``run_together``: calls that really overlap, results in order, and one report for a starter."""

from __future__ import annotations

import threading
import time
import traceback

import pytest

from course.concurrently import StillRunning, run_together


def test_results_come_back_in_index_order() -> None:
    assert run_together(lambda i: i * i, 8) == [0, 1, 4, 9, 16, 25, 36, 49]


def test_every_call_is_running_at_the_same_time() -> None:
    # Each call waits at a second barrier for all the others: it passes only if all overlap.
    inside = threading.Barrier(6, timeout=10)
    assert run_together(lambda i: inside.wait() >= 0, 6, timeout_s=20) == [True] * 6


def test_an_exception_is_returned_in_its_place() -> None:
    def fn(index: int) -> str:
        if index == 1:
            raise KeyError("missing")
        return "ok"

    first, second, third = run_together(fn, 3)
    assert (first, third) == ("ok", "ok")
    assert isinstance(second, KeyError)


def test_a_starters_not_implemented_error_is_raised_once_as_itself() -> None:
    def starter(index: int) -> None:
        raise NotImplementedError(f"not yet ({index})")

    with pytest.raises(NotImplementedError) as raised:
        run_together(starter, 5)
    # The course plugin names the traceback's last frame: it must still be the starter's raise.
    last = traceback.extract_tb(raised.value.__traceback__)[-1]
    assert (last.name, last.line) == ("starter", 'raise NotImplementedError(f"not yet ({index})")')


def test_not_implemented_wins_over_other_outcomes() -> None:
    def fn(index: int) -> int:
        if index == 2:
            raise NotImplementedError("later")
        return index

    with pytest.raises(NotImplementedError, match="later"):
        run_together(fn, 4)


def test_a_call_that_never_returns_is_reported_not_waited_for() -> None:
    release = threading.Event()

    def fn(index: int) -> int:
        if index == 0:
            release.wait()
        return index

    started = time.monotonic()
    try:
        with pytest.raises(StillRunning, match=r"1 of 3 concurrent calls were still running after 0\.3 s"):
            run_together(fn, 3, timeout_s=0.3)
    finally:
        release.set()
    assert time.monotonic() - started < 5
    assert issubclass(StillRunning, AssertionError)  # pytest reports it as a failed assertion


@pytest.mark.parametrize(("count", "timeout_s"), [(0, 1.0), (-1, 1.0), (2, 0.0), (2, -1.0)])
def test_arguments_are_checked(count: int, timeout_s: float) -> None:
    with pytest.raises(ValueError):
        run_together(lambda i: i, count, timeout_s=timeout_s)
