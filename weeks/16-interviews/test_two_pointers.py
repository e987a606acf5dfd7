"""Two pointers — each problem: examples, a property against a brute force, a scaling check."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from course.scaling import assert_scales
from labs.week16_interviews import two_pointers as sol

fuzz = settings(max_examples=40, deadline=None)
ints = st.lists(st.integers(-20, 20), max_size=30)


def check(got: object, want: object, call: str) -> None:
    assert got == want, f"{call}: expected {want!r}, got {got!r}"


# --------------------------------------------------------------------------- is_palindrome


def brute_palindrome(s: str) -> bool:
    kept = [c.lower() for c in s if c.isalnum()]
    return kept == kept[::-1]


def test_is_palindrome_examples() -> None:
    for s, want in [
        ("A man, a plan, a canal: Panama", True),
        ("race a car", False),
        ("", True),
        (" ", True),
        ("a", True),
        ("ab", False),
        ("0P", False),
        (".,a,.", True),
        ("No 'x' in Nixon", True),
    ]:
        check(sol.is_palindrome(s), want, f"is_palindrome({s!r})")


@fuzz
@given(st.text("aAb1 ,.", max_size=12))
def test_is_palindrome_matches_brute_force(s: str) -> None:
    check(sol.is_palindrome(s), brute_palindrome(s), f"is_palindrome({s!r})")


def test_is_palindrome_scales() -> None:
    def work(n: int):
        half = "".join(chr(97 + i % 26) + "," for i in range(n // 2))
        s = half + half[::-1]
        return lambda: sol.is_palindrome(s)

    assert_scales(work, 400, what="is_palindrome")


# --------------------------------------------------------------------------- two_sum_sorted


def _check_pair(numbers: list[int], target: int, got: tuple[int, int] | None) -> None:
    call = f"two_sum_sorted({numbers}, {target})"
    exists = any(a + b == target for a, b in combinations(numbers, 2))
    if not exists:
        check(got, None, call)
        return
    assert got is not None, f"{call}: a pair exists, got None"
    i, j = got
    assert 0 <= i < j < len(numbers) and numbers[i] + numbers[j] == target, (
        f"{call}: {got} is not a pair of indices i < j adding up to {target}"
    )


def test_two_sum_sorted_examples() -> None:
    for numbers, target in [
        ([2, 7, 11, 15], 9),
        ([2, 3, 4], 6),
        ([-1, 0], -1),
        ([], 3),
        ([4], 8),
        ([1, 1], 2),
        ([1, 2, 3], 100),
        ([-5, -3, 0, 3, 5], 0),
    ]:
        _check_pair(numbers, target, sol.two_sum_sorted(numbers, target))


@fuzz
@given(ints, st.integers(-40, 40))
def test_two_sum_sorted_matches_brute_force(numbers: list[int], target: int) -> None:
    numbers = sorted(numbers)
    _check_pair(numbers, target, sol.two_sum_sorted(numbers, target))


def test_two_sum_sorted_scales() -> None:
    def work(n: int):
        numbers = list(range(0, 2 * n, 2))
        return lambda: sol.two_sum_sorted(numbers, -1)

    assert_scales(work, 400, what="two_sum_sorted")


# --------------------------------------------------------------------------- three_sum


def brute_three_sum(nums: list[int]) -> list[tuple[int, int, int]]:
    return sorted({tuple(sorted(t)) for t in combinations(nums, 3) if sum(t) == 0})  # type: ignore[misc]


def test_three_sum_examples() -> None:
    for nums, want in [
        ([-1, 0, 1, 2, -1, -4], [(-1, -1, 2), (-1, 0, 1)]),
        ([0, 1, 1], []),
        ([0, 0, 0], [(0, 0, 0)]),
        ([], []),
        ([0], []),
        ([0, 0], []),
        ([0, 0, 0, 0], [(0, 0, 0)]),
        ([-2, 1, 1, 1], [(-2, 1, 1)]),
    ]:
        check(sol.three_sum(nums), want, f"three_sum({nums})")


@fuzz
@given(st.lists(st.integers(-6, 6), max_size=12))
def test_three_sum_matches_brute_force(nums: list[int]) -> None:
    check(sol.three_sum(nums), brute_three_sum(nums), f"three_sum({nums})")


def test_three_sum_scales() -> None:
    def work(n: int):  # O(n²) is the best known; the brute force is O(n³) (≈ 512× at 8n)
        nums = [(i * 37) % (4 * n) - 2 * n for i in range(n)]
        return lambda: sol.three_sum(nums)

    assert_scales(work, 50, limit=200, what="three_sum", expected="quadratic")


# --------------------------------------------------------------------------- container_with_most_water


def brute_container(heights: list[int]) -> int:
    return max(
        (min(heights[i], heights[j]) * (j - i) for i, j in combinations(range(len(heights)), 2)), default=0
    )


def test_container_with_most_water_examples() -> None:
    for heights, want in [
        ([1, 8, 6, 2, 5, 4, 8, 3, 7], 49),
        ([1, 1], 1),
        ([], 0),
        ([5], 0),
        ([0, 0], 0),
        ([4, 3, 2, 1, 4], 16),
        ([1, 2, 1], 2),
    ]:
        check(sol.container_with_most_water(heights), want, f"container_with_most_water({heights})")


@fuzz
@given(st.lists(st.integers(0, 20), max_size=15))
def test_container_with_most_water_matches_brute_force(heights: list[int]) -> None:
    check(
        sol.container_with_most_water(heights),
        brute_container(heights),
        f"container_with_most_water({heights})",
    )


def test_container_with_most_water_scales() -> None:
    def work(n: int):
        heights = [(i * 7919) % 1000 for i in range(n)]
        return lambda: sol.container_with_most_water(heights)

    assert_scales(work, 400, what="container_with_most_water")


# --------------------------------------------------------------------------- move_zeroes


def test_move_zeroes_examples() -> None:
    for nums, want in [
        ([0, 1, 0, 3, 12], [1, 3, 12, 0, 0]),
        ([0], [0]),
        ([], []),
        ([1], [1]),
        ([0, 0, 1], [1, 0, 0]),
        ([-1, 0, -2], [-1, -2, 0]),
    ]:
        original = list(nums)
        check(sol.move_zeroes(nums), want, f"move_zeroes({original})")
        check(nums, original, f"move_zeroes({original}) must leave its input alone; the input became")


@fuzz
@given(st.lists(st.integers(-2, 2), max_size=20))
def test_move_zeroes_matches_brute_force(nums: list[int]) -> None:
    want = [v for v in nums if v != 0] + [0] * nums.count(0)
    check(sol.move_zeroes(nums), want, f"move_zeroes({nums})")


def test_move_zeroes_scales() -> None:
    def work(n: int):
        nums = [0 if i % 2 else i for i in range(n)]
        return lambda: sol.move_zeroes(nums)

    assert_scales(work, 400, what="move_zeroes")


# --------------------------------------------------------------------------- trapping_rain_water


def brute_trap(heights: list[int]) -> int:
    return sum(max(0, min(max(heights[: i + 1]), max(heights[i:])) - h) for i, h in enumerate(heights))


def test_trapping_rain_water_examples() -> None:
    for heights, want in [
        ([0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 2, 1], 6),
        ([4, 2, 0, 3, 2, 5], 9),
        ([], 0),
        ([3], 0),
        ([1, 2, 3], 0),
        ([3, 0, 3], 3),
        ([2, 0, 2, 0, 2], 4),
    ]:
        check(sol.trapping_rain_water(heights), want, f"trapping_rain_water({heights})")


@fuzz
@given(st.lists(st.integers(0, 10), max_size=20))
def test_trapping_rain_water_matches_brute_force(heights: list[int]) -> None:
    check(sol.trapping_rain_water(heights), brute_trap(heights), f"trapping_rain_water({heights})")


def test_trapping_rain_water_scales() -> None:
    def work(n: int):
        heights = [(i * 7919) % 100 for i in range(n)]
        return lambda: sol.trapping_rain_water(heights)

    assert_scales(work, 400, what="trapping_rain_water")


# --------------------------------------------------------------------------- sorted_squares


def test_sorted_squares_examples() -> None:
    for nums, want in [
        ([-4, -1, 0, 3, 10], [0, 1, 9, 16, 100]),
        ([-7, -3, 2, 3, 11], [4, 9, 9, 49, 121]),
        ([], []),
        ([-2], [4]),
        ([-3, -2], [4, 9]),
        ([-1, 1], [1, 1]),
    ]:
        check(sol.sorted_squares(nums), want, f"sorted_squares({nums})")


@fuzz
@given(ints)
def test_sorted_squares_matches_brute_force(nums: list[int]) -> None:
    nums = sorted(nums)
    check(sol.sorted_squares(nums), sorted(v * v for v in nums), f"sorted_squares({nums})")


def test_sorted_squares_scales() -> None:
    def work(n: int):
        nums = list(range(-n // 2, n // 2))
        return lambda: sol.sorted_squares(nums)

    assert_scales(work, 400, what="sorted_squares")
