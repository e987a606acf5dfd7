"""How a function's running time grows: the same-run ratio of times at ``n`` and ``8n``.

A test cannot ask "is this O(n)?" with a stopwatch, but it can ask how much slower the code gets
when the input grows eightfold, measured in one run on one machine. Linear code slows about 8×,
n log n about 9–10×, quadratic code about 64×, so a limit of 30× separates them with room for a
busy machine on either side. Measurements are interleaved (n, 8n, n, 8n …) so a burst of load hits
both sizes; each is the best of several repeats, and each repeat calls the work enough times to
last a few milliseconds. Time is this thread's CPU time, not the wall clock: on a machine shared
with other busy processes, the time spent waiting for a core is not the code's doing. A run at 8n
that alone already takes longer than the limit allows ends the measuring early, so a quadratic
mistake fails in about a second instead of minutes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

Work = Callable[[], object]

GROWTH = 8  # the larger input is GROWTH times the smaller
QUADRATIC_LIMIT = 30.0  # linear ≈ 8×, n log n ≈ 9–10×, quadratic ≈ 64×
LINEAR_LIMIT = 4.0  # logarithmic ≈ 1–1.5×, linear ≈ 8×


@dataclass(frozen=True)
class Growth:
    """Best times (seconds, per call) at the small and the large size, and their ratio."""

    small_n: int
    large_n: int
    small_s: float
    large_s: float

    @property
    def ratio(self) -> float:
        return self.large_s / max(self.small_s, 1e-9)


def _calls_for(work: Work, min_batch_s: float) -> int:
    """How many calls of ``work`` make one batch last at least ``min_batch_s``."""
    calls = 1
    while True:
        started = time.thread_time()
        for _ in range(calls):
            work()
        if time.thread_time() - started >= min_batch_s or calls >= 1 << 16:
            return calls
        calls *= 2


def _batch_s(work: Work, calls: int) -> float:
    started = time.thread_time()
    for _ in range(calls):
        work()
    return (time.thread_time() - started) / calls


def measure_growth(make_work: Callable[[int], Work], n: int, *, repeats: int = 5,
                   min_batch_s: float = 0.002, give_up_ratio: float | None = None) -> Growth:
    """Time ``make_work(n)()`` against ``make_work(GROWTH * n)()``, best of ``repeats`` each.

    ``make_work(size)`` builds the input outside the timing and returns a callable doing the work.
    With ``give_up_ratio``, measuring stops as soon as one large run is that much slower than the
    best small run: the answer is already known, and a quadratic solution should not take minutes.
    """
    small, large = make_work(n), make_work(GROWTH * n)
    collecting = gc.isenabled()
    gc.disable()  # as timeit does: a collection's cost depends on everything alive, not on the work
    try:
        calls = _calls_for(small, min_batch_s)
        best_small = best_large = float("inf")
        for _ in range(repeats):
            best_small = min(best_small, _batch_s(small, calls))
            best_large = min(best_large, _batch_s(large, calls))
            if give_up_ratio is not None and best_large > give_up_ratio * best_small:
                break
    finally:
        if collecting:
            gc.enable()
    return Growth(n, GROWTH * n, best_small, best_large)


def assert_scales(make_work: Callable[[int], Work], n: int, *, limit: float = QUADRATIC_LIMIT,
                  what: str = "the solution", expected: str = "linear or n log n") -> Growth:
    """Fail, with the measured numbers, if the work grows more than ``limit``× from n to 8n."""
    growth = measure_growth(make_work, n, give_up_ratio=limit)
    if growth.ratio > limit:
        pytest.fail(
            f"{what}: {growth.ratio:.0f}× slower at n={growth.large_n} than at n={growth.small_n} "
            f"({growth.small_s * 1e3:.2f} ms → {growth.large_s * 1e3:.2f} ms per call); a {expected} "
            f"solution stays under {limit:.0f}× when the input grows {GROWTH}×. More means work per "
            f"step that grows with n — a nested loop, a scan inside a loop (`x in list`, list.index, "
            f"list.pop(0), slicing, min() of a list), or a re-sort.",
            pytrace=False)
    return growth
