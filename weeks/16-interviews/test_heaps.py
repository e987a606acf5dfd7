"""Heaps — each problem: examples, a property against a brute force, a scaling check."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.scaling import assert_scales
from labs.week16_interviews import heaps as sol

fuzz = settings(max_examples=40, deadline=None)


def check(got: object, want: object, call: str) -> None:
    assert got == want, f"{call}: expected {want!r}, got {got!r}"


def scrambled(n: int) -> list[int]:
    values = list(range(n))
    random.Random(n).shuffle(values)
    return values


# --------------------------------------------------------------------------- kth_largest


def test_kth_largest_examples() -> None:
    for nums, k, want in [
        ([3, 2, 1, 5, 6, 4], 2, 5),
        ([3, 2, 3, 1, 2, 4, 5, 5, 6], 4, 4),
        ([1], 1, 1),
        ([3, 3, 3], 2, 3),
        ([-1, -2], 2, -2),
        ([5, 9], 1, 9),
    ]:
        check(sol.kth_largest(nums, k), want, f"kth_largest({nums}, {k})")


@fuzz
@given(st.lists(st.integers(-9, 9), min_size=1, max_size=20), st.integers(1, 20))
def test_kth_largest_matches_brute_force(nums: list[int], k: int) -> None:
    k = (k - 1) % len(nums) + 1
    check(sol.kth_largest(nums, k), sorted(nums, reverse=True)[k - 1], f"kth_largest({nums}, {k})")


def test_kth_largest_scales() -> None:
    def work(n: int):  # k = n/2: removing the maximum k times from a list is quadratic
        nums = scrambled(n)
        return lambda: sol.kth_largest(nums, n // 2)

    assert_scales(work, 400, what="kth_largest", expected="n log n")


# --------------------------------------------------------------------------- kth_largest_stream


def test_kth_largest_stream_examples() -> None:
    stream = sol.KthLargestStream(3, [4, 5, 8, 2])
    check(
        [stream.add(v) for v in (3, 5, 10, 9, 4)],
        [4, 5, 5, 8, 8],
        "k=3 from [4, 5, 8, 2]: add 3, 5, 10, 9, 4",
    )
    short = sol.KthLargestStream(2, [])
    short.add(1)
    check(short.add(-1), -1, "k=2 from []: add 1, then add(-1)")


@fuzz
@given(
    st.integers(1, 4),
    st.lists(st.integers(-9, 9), max_size=10),
    st.lists(st.integers(-9, 9), min_size=1, max_size=10),
)
def test_kth_largest_stream_matches_brute_force(k: int, start: list[int], added: list[int]) -> None:
    start = (start + added)[: max(len(start), k - 1)]
    added = added[max(0, len(start) - len(start)) :]
    stream, seen = sol.KthLargestStream(k, list(start)), list(start)
    for value in added:
        seen.append(value)
        if len(seen) >= k:
            check(
                stream.add(value),
                sorted(seen, reverse=True)[k - 1],
                f"k={k} from {start}: after adding {seen[len(start) :]}",
            )
        else:
            stream.add(value)


def test_kth_largest_stream_scales() -> None:
    def work(n: int):  # k = n/2: sorting everything on each add is far worse than a heap of k
        nums, more = scrambled(n), scrambled(n)

        def run() -> None:
            stream = sol.KthLargestStream(n // 2, nums)
            for value in more:
                stream.add(value)

        return run

    assert_scales(work, 400, what="KthLargestStream", expected="n log n")


# --------------------------------------------------------------------------- merge_k_sorted


def test_merge_k_sorted_examples() -> None:
    for lists, want in [
        ([[1, 4, 5], [1, 3, 4], [2, 6]], [1, 1, 2, 3, 4, 4, 5, 6]),
        ([], []),
        ([[]], []),
        ([[], [1]], [1]),
        ([[-2, -1], [-3]], [-3, -2, -1]),
        ([[1, 1], [1]], [1, 1, 1]),
    ]:
        check(sol.merge_k_sorted(lists), want, f"merge_k_sorted({lists})")


@fuzz
@given(st.lists(st.lists(st.integers(-9, 9), max_size=6).map(sorted), max_size=6))
def test_merge_k_sorted_matches_brute_force(lists: list[list[int]]) -> None:
    check(
        sol.merge_k_sorted(lists), sorted(v for values in lists for v in values), f"merge_k_sorted({lists})"
    )


def test_merge_k_sorted_scales() -> None:
    def work(n: int):  # n/4 lists: taking min() over every list's front per value is quadratic
        lists = [list(range(i, n, n // 4)) for i in range(n // 4)]
        return lambda: sol.merge_k_sorted(lists)

    assert_scales(work, 400, what="merge_k_sorted", expected="N log k")


# --------------------------------------------------------------------------- k_closest_points


def test_k_closest_points_examples() -> None:
    for points, k, want in [
        ([(1, 3), (-2, 2)], 1, [(-2, 2)]),
        ([(3, 3), (5, -1), (-2, 4)], 2, [(3, 3), (-2, 4)]),
        ([(1, 3), (-2, 2), (2, -2)], 2, [(-2, 2), (2, -2)]),
        ([], 0, []),
        ([(0, 0)], 1, [(0, 0)]),
        ([(1, 0), (0, 1), (-1, 0)], 2, [(-1, 0), (0, 1)]),
    ]:
        check([tuple(p) for p in sol.k_closest_points(points, k)], want, f"k_closest_points({points}, {k})")


@fuzz
@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), max_size=15), st.integers(0, 15))
def test_k_closest_points_matches_brute_force(points: list[tuple[int, int]], k: int) -> None:
    k = min(k, len(points))
    want = sorted(points, key=lambda p: (p[0] ** 2 + p[1] ** 2, p))[:k]
    check([tuple(p) for p in sol.k_closest_points(points, k)], want, f"k_closest_points({points}, {k})")


def test_k_closest_points_scales() -> None:
    def work(n: int):
        rng = random.Random(n)
        points = [(rng.randrange(-n, n), rng.randrange(-n, n)) for _ in range(n)]
        return lambda: sol.k_closest_points(points, n // 2)

    assert_scales(work, 400, what="k_closest_points", expected="n log k")


# --------------------------------------------------------------------------- median_finder


def test_median_finder_examples() -> None:
    finder = sol.MedianFinder()
    with pytest.raises(IndexError):
        finder.median()
    medians = []
    for value in (1, 2, 3, -10, 100):
        finder.add(value)
        medians.append(finder.median())
    check(medians, [1.0, 1.5, 2.0, 1.5, 2.0], "add 1, 2, 3, -10, 100: median() after each")


@fuzz
@given(st.lists(st.integers(-9, 9), min_size=1, max_size=25))
def test_median_finder_matches_brute_force(values: list[int]) -> None:
    finder = sol.MedianFinder()
    for i, value in enumerate(values):
        finder.add(value)
        seen = sorted(values[: i + 1])
        middle = len(seen) // 2
        want = float(seen[middle]) if len(seen) % 2 else (seen[middle - 1] + seen[middle]) / 2
        check(finder.median(), want, f"after adding {values[: i + 1]}: median()")


def test_median_finder_scales() -> None:
    def work(
        n: int,
    ):  # a median after every add: sorting (or insort into a list) each time is quadratic or worse
        values = scrambled(n)

        def run() -> None:
            finder = sol.MedianFinder()
            for value in values:
                finder.add(value)
                finder.median()

        return run

    assert_scales(work, 400, what="MedianFinder (O(log n) per add)", expected="n log n")
