"""Start N calls at the same instant and collect what each returned or raised.

Concurrency bugs — a check-then-set, a stampede, a lost update — only show when the calls
really overlap. Threads started one after another in a loop mostly do not: the first is done
before the last has started. So every thread waits at a barrier and they are released together.

A lab test then judges the results. Two things it should not have to do itself: notice a thread
that never returned (``StillRunning``, an assertion failure that says how many), and turn the
untouched starter's ``NotImplementedError`` — raised identically in every thread — into one
report. The first such error is raised again as itself, its traceback still ending at the
starter's line, so the course's pytest plugin prints the one line "not written yet: file:line".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class StillRunning(AssertionError):
    """Some calls had not returned when the time ran out: something waits for ever."""


def run_together(fn: Callable[[int], T], count: int, *, timeout_s: float = 30.0
                 ) -> list[T | Exception]:
    """Call ``fn(0)`` … ``fn(count - 1)``, one thread each, released together by a barrier.

    Returns, in index order, each call's result or the ``Exception`` it raised. Raises the first
    ``NotImplementedError`` itself (a starter that is not written yet is not a result to judge),
    and ``StillRunning`` when calls are still running ``timeout_s`` seconds after the start.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s}")
    barrier = threading.Barrier(count, timeout=timeout_s)
    outcomes: dict[int, T | Exception] = {}  # index → result; a call that never returned has none

    def call(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = fn(index)
        except Exception as exc:  # the caller judges it; an exception lost in a thread helps nobody
            outcomes[index] = exc

    # Daemon threads: a call stuck for ever must not also keep the test process from exiting.
    threads = [threading.Thread(target=call, args=(i,), daemon=True, name=f"together-{i}")
               for i in range(count)]
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))

    for index in sorted(outcomes):
        if isinstance(outcome := outcomes[index], NotImplementedError):
            raise outcome
    hung = count - len(outcomes)
    if hung:
        raise StillRunning(f"{hung} of {count} concurrent calls were still running after "
                           f"{timeout_s:g} s — something waits for ever")
    return [outcomes[index] for index in range(count)]
