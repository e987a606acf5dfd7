"""Binary search — each problem: examples, a property against a brute force, a scaling check.

The scaling checks here ask for logarithmic time: many look-ups in a list 8× longer may take only
a little longer, where a scan takes 8× longer.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from course.scaling import LINEAR_LIMIT, assert_scales
from labs.week16_interviews import binary_search as sol

fuzz = settings(max_examples=40, deadline=None)
QUERIES = 200


def check(got: object, want: object, call: str) -> None:
    assert got == want, f"{call}: expected {want!r}, got {got!r}"


def lookups(fn, nums: list[int], targets: list[int]):
    return lambda: [fn(nums, t) for t in targets]


def logarithmic(make_work, what: str) -> None:
    assert_scales(make_work, 2000, limit=LINEAR_LIMIT, what=what, expected="logarithmic")


# --------------------------------------------------------------------------- binary_search


def test_binary_search_examples() -> None:
    for nums, target, want in [
        ([-1, 0, 3, 5, 9, 12], 9, 4),
        ([-1, 0, 3, 5, 9, 12], 2, -1),
        ([], 1, -1),
        ([5], 5, 0),
        ([5], 4, -1),
        ([1, 2], 2, 1),
        ([1, 2], 0, -1),
        ([1, 2], 3, -1),
    ]:
        check(sol.binary_search(nums, target), want, f"binary_search({nums}, {target})")


@fuzz
@given(st.sets(st.integers(-30, 30), max_size=20), st.integers(-35, 35))
def test_binary_search_matches_brute_force(values: set[int], target: int) -> None:
    nums = sorted(values)
    want = nums.index(target) if target in nums else -1
    check(sol.binary_search(nums, target), want, f"binary_search({nums}, {target})")


def test_binary_search_scales() -> None:
    def work(n: int):
        nums = list(range(0, 2 * n, 2))
        return lookups(sol.binary_search, nums, [2 * n - 2 - i for i in range(QUERIES)])

    logarithmic(work, "binary_search")


# --------------------------------------------------------------------------- search_insert


def test_search_insert_examples() -> None:
    for nums, target, want in [
        ([1, 3, 5, 6], 5, 2),
        ([1, 3, 5, 6], 2, 1),
        ([1, 3, 5, 6], 7, 4),
        ([1, 3, 5, 6], 0, 0),
        ([], 3, 0),
        ([1, 3, 3, 5], 3, 1),
        ([2, 2, 2], 2, 0),
        ([-5], -4, 1),
    ]:
        check(sol.search_insert(nums, target), want, f"search_insert({nums}, {target})")


@fuzz
@given(st.lists(st.integers(-10, 10), max_size=20), st.integers(-12, 12))
def test_search_insert_matches_brute_force(nums: list[int], target: int) -> None:
    nums = sorted(nums)
    check(sol.search_insert(nums, target), sum(v < target for v in nums), f"search_insert({nums}, {target})")


def test_search_insert_scales() -> None:
    def work(n: int):
        nums = sorted(i // 3 for i in range(n))
        return lookups(sol.search_insert, nums, [n // 3 - i % 7 for i in range(QUERIES)])

    logarithmic(work, "search_insert")


# --------------------------------------------------------------------------- first_and_last


def test_first_and_last_examples() -> None:
    for nums, target, want in [
        ([5, 7, 7, 8, 8, 10], 8, (3, 4)),
        ([5, 7, 7, 8, 8, 10], 6, (-1, -1)),
        ([], 0, (-1, -1)),
        ([1], 1, (0, 0)),
        ([2, 2], 2, (0, 1)),
        ([1, 2, 3], 3, (2, 2)),
        ([1, 2, 3], 4, (-1, -1)),
    ]:
        check(sol.first_and_last(nums, target), want, f"first_and_last({nums}, {target})")


@fuzz
@given(st.lists(st.integers(-5, 5), max_size=20), st.integers(-6, 6))
def test_first_and_last_matches_brute_force(nums: list[int], target: int) -> None:
    nums = sorted(nums)
    at = [i for i, v in enumerate(nums) if v == target]
    check(
        sol.first_and_last(nums, target),
        (at[0], at[-1]) if at else (-1, -1),
        f"first_and_last({nums}, {target})",
    )


def test_first_and_last_scales() -> None:
    def work(n: int):  # a long run of one value: finding one copy, then walking to its ends is linear
        nums = [0] * 10 + [1] * (n - 20) + [2] * 10
        return lookups(sol.first_and_last, nums, [1] * QUERIES)

    logarithmic(work, "first_and_last")


# --------------------------------------------------------------------------- search_rotated


def rotations(draw_values: set[int], shift: int) -> list[int]:
    nums = sorted(draw_values)
    shift = shift % len(nums) if nums else 0
    return nums[shift:] + nums[:shift]


def test_search_rotated_examples() -> None:
    for nums, target, want in [
        ([4, 5, 6, 7, 0, 1, 2], 0, 4),
        ([4, 5, 6, 7, 0, 1, 2], 3, -1),
        ([1], 0, -1),
        ([], 5, -1),
        ([1], 1, 0),
        ([3, 1], 1, 1),
        ([5, 1, 3], 5, 0),
        ([1, 3], 3, 1),
    ]:
        check(sol.search_rotated(nums, target), want, f"search_rotated({nums}, {target})")


@fuzz
@given(st.sets(st.integers(-20, 20), max_size=15), st.integers(0, 20), st.integers(-22, 22))
def test_search_rotated_matches_brute_force(values: set[int], shift: int, target: int) -> None:
    nums = rotations(values, shift)
    want = nums.index(target) if target in nums else -1
    check(sol.search_rotated(nums, target), want, f"search_rotated({nums}, {target})")


def test_search_rotated_scales() -> None:
    def work(n: int):
        nums = list(range(n // 3, n)) + list(range(n // 3))
        return lookups(sol.search_rotated, nums, [random.Random(i).randrange(n) for i in range(QUERIES)])

    logarithmic(work, "search_rotated")


# --------------------------------------------------------------------------- find_min_rotated


def test_find_min_rotated_examples() -> None:
    for nums, want in [
        ([3, 4, 5, 1, 2], 1),
        ([4, 5, 6, 7, 0, 1, 2], 0),
        ([11, 13, 15, 17], 11),
        ([1], 1),
        ([2, 1], 1),
        ([-3, -5, -4], -5),
    ]:
        check(sol.find_min_rotated(nums), want, f"find_min_rotated({nums})")


@fuzz
@given(st.sets(st.integers(-20, 20), min_size=1, max_size=15), st.integers(0, 20))
def test_find_min_rotated_matches_brute_force(values: set[int], shift: int) -> None:
    nums = rotations(values, shift)
    check(sol.find_min_rotated(nums), min(nums), f"find_min_rotated({nums})")


def test_find_min_rotated_scales() -> None:
    def work(n: int):
        nums = list(range(n // 2, n)) + list(range(n // 2))
        return lambda: [sol.find_min_rotated(nums) for _ in range(QUERIES)]

    logarithmic(work, "find_min_rotated")


# --------------------------------------------------------------------------- min_eating_speed


def brute_speed(piles: list[int], hours: int) -> int:
    return next(s for s in range(1, max(piles) + 1) if sum(-(-p // s) for p in piles) <= hours)


def test_min_eating_speed_examples() -> None:
    for piles, hours, want in [
        ([3, 6, 7, 11], 8, 4),
        ([30, 11, 23, 4, 20], 5, 30),
        ([30, 11, 23, 4, 20], 6, 23),
        ([1], 1, 1),
        ([10**9], 2, 5 * 10**8),
        ([5, 5], 100, 1),
    ]:
        check(sol.min_eating_speed(piles, hours), want, f"min_eating_speed({piles}, {hours})")


@fuzz
@given(st.lists(st.integers(1, 30), min_size=1, max_size=8), st.integers(0, 20))
def test_min_eating_speed_matches_brute_force(piles: list[int], extra_hours: int) -> None:
    hours = len(piles) + extra_hours
    check(
        sol.min_eating_speed(piles, hours), brute_speed(piles, hours), f"min_eating_speed({piles}, {hours})"
    )


def test_min_eating_speed_scales() -> None:
    def work(n: int):  # piles as big as n: trying every speed from 1 up is quadratic
        piles = [n + i for i in range(n)]
        return lambda: sol.min_eating_speed(piles, len(piles) + 1)

    assert_scales(work, 100, what="min_eating_speed", expected="n log n")


# --------------------------------------------------------------------------- find_peak


def _check_peak(nums: list[int], got: int) -> None:
    call = f"find_peak({nums})"
    assert isinstance(got, int) and 0 <= got < len(nums), f"{call}: {got!r} is not an index of the list"
    left = nums[got - 1] if got > 0 else float("-inf")
    right = nums[got + 1] if got + 1 < len(nums) else float("-inf")
    assert left < nums[got] > right, f"{call}: index {got} ({nums[got]}) is not bigger than both neighbours"


def test_find_peak_examples() -> None:
    for nums in ([1, 2, 3, 1], [1, 2, 1, 3, 5, 6, 4], [7], [1, 2], [2, 1], [3, 2, 1], [-3, -2, -5]):
        _check_peak(nums, sol.find_peak(nums))


@fuzz
@given(st.lists(st.integers(-9, 9), min_size=1, max_size=20))
def test_find_peak_matches_brute_force(raw: list[int]) -> None:
    nums = [raw[0]]
    for value in raw[1:]:  # adjacent elements differ
        nums.append(value if value != nums[-1] else value + 100)
    _check_peak(nums, sol.find_peak(nums))


def test_find_peak_scales() -> None:
    def work(n: int):  # the peak at the far end: walking uphill one step at a time is linear
        nums = list(range(n))
        return lambda: [sol.find_peak(nums) for _ in range(QUERIES)]

    logarithmic(work, "find_peak")
