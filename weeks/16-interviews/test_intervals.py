"""Intervals — each problem: examples, a property against a brute force, a scaling check."""

from __future__ import annotations

import random
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from course.scaling import assert_scales
from labs.week16_interviews import intervals as sol

fuzz = settings(max_examples=40, deadline=None)
closed = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 6)).map(lambda p: (p[0], p[0] + p[1])), max_size=10
)
half_open = st.lists(
    st.tuples(st.integers(0, 20), st.integers(1, 6)).map(lambda p: (p[0], p[0] + p[1])), max_size=10
)


def check(got: object, want: object, call: str) -> None:
    assert got == want, f"{call}: expected {want!r}, got {got!r}"


def covered(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Brute force for closed intervals: mark every point (doubled, so touching ends join)."""
    points = sorted({p for s, e in intervals for p in range(2 * s, 2 * e + 1)})
    runs: list[tuple[int, int]] = []
    for p in points:
        if runs and p == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return [(s // 2, e // 2) for s, e in runs]


def shuffled_intervals(n: int, width: int) -> list[tuple[int, int]]:
    rng = random.Random(n)
    starts = [rng.randrange(10 * n) for _ in range(n)]
    return [(s, s + 1 + rng.randrange(width)) for s in starts]


# --------------------------------------------------------------------------- merge_intervals


def test_merge_intervals_examples() -> None:
    for intervals, want in [
        ([(1, 3), (2, 6), (8, 10), (15, 18)], [(1, 6), (8, 10), (15, 18)]),
        ([(1, 4), (4, 5)], [(1, 5)]),
        ([], []),
        ([(5, 5)], [(5, 5)]),
        ([(8, 10), (1, 3), (2, 6), (10, 12)], [(1, 6), (8, 12)]),
        ([(1, 10), (2, 3), (4, 5)], [(1, 10)]),
        ([(-5, -1), (-2, 0)], [(-5, 0)]),
    ]:
        check(sol.merge_intervals(intervals), want, f"merge_intervals({intervals})")


@fuzz
@given(closed)
def test_merge_intervals_matches_brute_force(intervals: list[tuple[int, int]]) -> None:
    check(
        [tuple(i) for i in sol.merge_intervals(intervals)],
        covered(intervals),
        f"merge_intervals({intervals})",
    )


def test_merge_intervals_scales() -> None:
    def work(n: int):
        intervals = shuffled_intervals(n, 5)
        return lambda: sol.merge_intervals(intervals)

    assert_scales(work, 400, what="merge_intervals", expected="n log n")


# --------------------------------------------------------------------------- insert_interval


def test_insert_interval_examples() -> None:
    for intervals, new, want in [
        ([(1, 3), (6, 9)], (2, 5), [(1, 5), (6, 9)]),
        ([], (5, 7), [(5, 7)]),
        ([(1, 2), (3, 5), (6, 7), (8, 10), (12, 16)], (4, 8), [(1, 2), (3, 10), (12, 16)]),
        ([(1, 5)], (6, 8), [(1, 5), (6, 8)]),
        ([(3, 5)], (0, 1), [(0, 1), (3, 5)]),
        ([(1, 5)], (5, 7), [(1, 7)]),
        ([(1, 5)], (2, 3), [(1, 5)]),
    ]:
        check(sol.insert_interval(intervals, new), want, f"insert_interval({intervals}, {new})")


@fuzz
@given(closed, st.tuples(st.integers(0, 20), st.integers(0, 6)).map(lambda p: (p[0], p[0] + p[1])))
def test_insert_interval_matches_brute_force(raw: list[tuple[int, int]], new: tuple[int, int]) -> None:
    intervals = covered(raw)
    intervals = [iv for k, iv in enumerate(intervals) if k == 0 or iv[0] > intervals[k - 1][1]]
    check(
        [tuple(i) for i in sol.insert_interval(intervals, new)],
        covered([*intervals, new]),
        f"insert_interval({intervals}, {new})",
    )


def test_insert_interval_scales() -> None:
    def work(n: int):
        intervals = [(3 * i, 3 * i + 1) for i in range(n)]
        return lambda: sol.insert_interval(intervals, (3 * n // 2, 3 * n // 2 + 10))

    assert_scales(work, 400, what="insert_interval")


# --------------------------------------------------------------------------- min_removals_to_not_overlap


def disjoint(chosen: tuple[tuple[int, int], ...]) -> bool:
    return all(a[1] <= b[0] or b[1] <= a[0] for a, b in combinations(chosen, 2))


def brute_removals(intervals: list[tuple[int, int]]) -> int:
    for keep in range(len(intervals), -1, -1):
        if any(disjoint(chosen) for chosen in combinations(intervals, keep)):
            return len(intervals) - keep
    return len(intervals)


def test_min_removals_to_not_overlap_examples() -> None:
    for intervals, want in [
        ([(1, 2), (2, 3), (3, 4), (1, 3)], 1),
        ([(1, 2), (1, 2), (1, 2)], 2),
        ([(1, 2), (2, 3)], 0),
        ([], 0),
        ([(0, 5)], 0),
        ([(1, 100), (11, 22), (1, 11), (2, 12)], 2),
    ]:
        check(sol.min_removals_to_not_overlap(intervals), want, f"min_removals_to_not_overlap({intervals})")


@fuzz
@given(
    st.lists(st.tuples(st.integers(0, 12), st.integers(1, 5)).map(lambda p: (p[0], p[0] + p[1])), max_size=8)
)
def test_min_removals_to_not_overlap_matches_brute_force(intervals: list[tuple[int, int]]) -> None:
    check(
        sol.min_removals_to_not_overlap(intervals),
        brute_removals(intervals),
        f"min_removals_to_not_overlap({intervals})",
    )


def test_min_removals_to_not_overlap_scales() -> None:
    def work(n: int):
        intervals = shuffled_intervals(n, 30)
        return lambda: sol.min_removals_to_not_overlap(intervals)

    assert_scales(work, 400, what="min_removals_to_not_overlap", expected="n log n")


# --------------------------------------------------------------------------- can_attend_all


def test_can_attend_all_examples() -> None:
    for meetings, want in [
        ([(0, 30), (5, 10), (15, 20)], False),
        ([(7, 10), (2, 4)], True),
        ([], True),
        ([(1, 5)], True),
        ([(1, 5), (5, 8)], True),
        ([(1, 5), (4, 8)], False),
        ([(5, 8), (1, 5), (8, 9)], True),
    ]:
        check(sol.can_attend_all(meetings), want, f"can_attend_all({meetings})")


@fuzz
@given(half_open)
def test_can_attend_all_matches_brute_force(meetings: list[tuple[int, int]]) -> None:
    check(sol.can_attend_all(meetings), disjoint(tuple(meetings)), f"can_attend_all({meetings})")


def test_can_attend_all_scales() -> None:
    def work(n: int):  # no overlap: comparing every pair is quadratic
        meetings = [(2 * i, 2 * i + 1) for i in range(n)]
        random.Random(n).shuffle(meetings)
        return lambda: sol.can_attend_all(meetings)

    assert_scales(work, 400, what="can_attend_all", expected="n log n")


# --------------------------------------------------------------------------- min_meeting_rooms


def brute_rooms(meetings: list[tuple[int, int]]) -> int:
    return max((sum(s <= t < e for s, e in meetings) for t in {s for s, _ in meetings}), default=0)


def test_min_meeting_rooms_examples() -> None:
    for meetings, want in [
        ([(0, 30), (5, 10), (15, 20)], 2),
        ([(7, 10), (2, 4)], 1),
        ([], 0),
        ([(1, 2)], 1),
        ([(1, 5), (5, 10)], 1),
        ([(1, 5), (1, 5), (1, 5)], 3),
        ([(1, 10), (2, 3), (3, 4), (4, 5)], 2),
    ]:
        check(sol.min_meeting_rooms(meetings), want, f"min_meeting_rooms({meetings})")


@fuzz
@given(half_open)
def test_min_meeting_rooms_matches_brute_force(meetings: list[tuple[int, int]]) -> None:
    check(sol.min_meeting_rooms(meetings), brute_rooms(meetings), f"min_meeting_rooms({meetings})")


def test_min_meeting_rooms_scales() -> None:
    def work(n: int):  # many rooms at once: scanning every room for a free one is quadratic
        meetings = shuffled_intervals(n, 5 * n)
        return lambda: sol.min_meeting_rooms(meetings)

    assert_scales(work, 400, what="min_meeting_rooms", expected="n log n")
