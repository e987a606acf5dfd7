"""Sliding window — each problem: examples, a property against a brute force, a scaling check."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from course.scaling import assert_scales
from labs.week16_interviews import sliding_window as sol

fuzz = settings(max_examples=40, deadline=None)
ints = st.lists(st.integers(-20, 20), max_size=30)


def check(got: object, want: object, call: str) -> None:
    assert got == want, f"{call}: expected {want!r}, got {got!r}"


def windows(values: list[int] | str, k: int) -> list:
    return [values[i : i + k] for i in range(len(values) - k + 1)]


# --------------------------------------------------------------------------- max_sum_window


def test_max_sum_window_examples() -> None:
    for nums, k, want in [
        ([2, 1, 5, 1, 3, 2], 3, 9),
        ([2, 3, 4, 1, 5], 2, 7),
        ([], 1, None),
        ([4], 1, 4),
        ([1, 2], 3, None),
        ([-3, -1, -2], 2, -3),
        ([1, 2, 3], 3, 6),
        ([5, 1, 1, 1, 5], 1, 5),
    ]:
        check(sol.max_sum_window(nums, k), want, f"max_sum_window({nums}, {k})")


@fuzz
@given(ints, st.integers(1, 8))
def test_max_sum_window_matches_brute_force(nums: list[int], k: int) -> None:
    want = max((sum(w) for w in windows(nums, k)), default=None)
    check(sol.max_sum_window(nums, k), want, f"max_sum_window({nums}, {k})")


def test_max_sum_window_scales() -> None:
    def work(n: int):  # a window half the input: re-summing every window is quadratic
        nums = [(i * 7919) % 201 - 100 for i in range(n)]
        return lambda: sol.max_sum_window(nums, n // 2)

    assert_scales(work, 400, what="max_sum_window")


# --------------------------------------------------------------------------- longest_unique_substring


def brute_unique(s: str) -> int:
    return max(
        (j - i for i in range(len(s)) for j in range(i + 1, len(s) + 1) if len(set(s[i:j])) == j - i),
        default=0,
    )


def test_longest_unique_substring_examples() -> None:
    for s, want in [
        ("abcabcbb", 3),
        ("bbbbb", 1),
        ("pwwkew", 3),
        ("", 0),
        ("a", 1),
        ("abba", 2),
        ("dvdf", 3),
        ("au ", 3),
    ]:
        check(sol.longest_unique_substring(s), want, f"longest_unique_substring({s!r})")


@fuzz
@given(st.text("abcd", max_size=14))
def test_longest_unique_substring_matches_brute_force(s: str) -> None:
    check(sol.longest_unique_substring(s), brute_unique(s), f"longest_unique_substring({s!r})")


def test_longest_unique_substring_scales() -> None:
    def work(n: int):  # all distinct: restarting at every index is quadratic
        s = "".join(chr(0x4E00 + i) for i in range(n))
        return lambda: sol.longest_unique_substring(s)

    assert_scales(work, 400, what="longest_unique_substring")


# --------------------------------------------------------------------------- min_subarray_len


def brute_min_len(target: int, nums: list[int]) -> int:
    return min(
        (j - i for i in range(len(nums)) for j in range(i + 1, len(nums) + 1) if sum(nums[i:j]) >= target),
        default=0,
    )


def test_min_subarray_len_examples() -> None:
    for target, nums, want in [
        (7, [2, 3, 1, 2, 4, 3], 2),
        (4, [1, 4, 4], 1),
        (11, [1, 1, 1, 1, 1, 1, 1, 1], 0),
        (1, [], 0),
        (3, [3], 1),
        (6, [1, 2, 3], 3),
        (15, [1, 2, 3, 4, 5], 5),
    ]:
        check(sol.min_subarray_len(target, nums), want, f"min_subarray_len({target}, {nums})")


@fuzz
@given(st.integers(1, 30), st.lists(st.integers(1, 9), max_size=15))
def test_min_subarray_len_matches_brute_force(target: int, nums: list[int]) -> None:
    check(
        sol.min_subarray_len(target, nums), brute_min_len(target, nums), f"min_subarray_len({target}, {nums})"
    )


def test_min_subarray_len_scales() -> None:
    def work(n: int):  # the answer is long: growing a window from every start is quadratic
        nums = [1] * n
        return lambda: sol.min_subarray_len(n // 2, nums)

    assert_scales(work, 400, what="min_subarray_len")


# --------------------------------------------------------------------------- longest_repeating_replacement


def brute_replacement(s: str, k: int) -> int:
    return max(
        (
            j - i
            for i in range(len(s))
            for j in range(i + 1, len(s) + 1)
            if j - i - max(Counter(s[i:j]).values()) <= k
        ),
        default=0,
    )


def test_longest_repeating_replacement_examples() -> None:
    for s, k, want in [
        ("ABAB", 2, 4),
        ("AABABBA", 1, 4),
        ("", 2, 0),
        ("A", 0, 1),
        ("ABC", 0, 1),
        ("AAAA", 0, 4),
        ("ABCD", 10, 4),
    ]:
        check(sol.longest_repeating_replacement(s, k), want, f"longest_repeating_replacement({s!r}, {k})")


@fuzz
@given(st.text("ABC", max_size=12), st.integers(0, 3))
def test_longest_repeating_replacement_matches_brute_force(s: str, k: int) -> None:
    check(
        sol.longest_repeating_replacement(s, k),
        brute_replacement(s, k),
        f"longest_repeating_replacement({s!r}, {k})",
    )


def test_longest_repeating_replacement_scales() -> None:
    def work(n: int):
        s = "".join("AB"[(i * 7) % 3 == 0] for i in range(n))
        return lambda: sol.longest_repeating_replacement(s, n // 8)

    assert_scales(work, 400, what="longest_repeating_replacement")


# --------------------------------------------------------------------------- contains_permutation


def test_contains_permutation_examples() -> None:
    for pattern, text, want in [
        ("ab", "eidbaooo", True),
        ("ab", "eidboaoo", False),
        ("", "abc", True),
        ("", "", True),
        ("a", "", False),
        ("abc", "ab", False),
        ("aab", "baa", True),
        ("aab", "abab", True),
        ("aa", "aba", False),
    ]:
        check(sol.contains_permutation(pattern, text), want, f"contains_permutation({pattern!r}, {text!r})")


@fuzz
@given(st.text("abc", max_size=4), st.text("abc", max_size=12))
def test_contains_permutation_matches_brute_force(pattern: str, text: str) -> None:
    want = any(sorted(w) == sorted(pattern) for w in windows(text, len(pattern)))
    check(sol.contains_permutation(pattern, text), want, f"contains_permutation({pattern!r}, {text!r})")


def test_contains_permutation_scales() -> None:
    def work(n: int):  # a long pattern never found: sorting or counting every window is quadratic
        text = "ab" * (n // 2)
        pattern = "a" * (n // 4) + "c"
        return lambda: sol.contains_permutation(pattern, text)

    assert_scales(work, 400, what="contains_permutation")


# --------------------------------------------------------------------------- min_window_substring


def brute_min_window(text: str, required: str) -> str:
    if not required:
        return ""
    need = Counter(required)
    best = ""
    for i in range(len(text)):
        for j in range(i + 1, len(text) + 1):
            if not need - Counter(text[i:j]) and (not best or j - i < len(best)):
                best = text[i:j]
                break
    return best


def test_min_window_substring_examples() -> None:
    for text, required, want in [
        ("ADOBECODEBANC", "ABC", "BANC"),
        ("a", "a", "a"),
        ("a", "aa", ""),
        ("", "a", ""),
        ("abc", "", ""),
        ("aa", "aa", "aa"),
        ("abcab", "ab", "ab"),
        ("bba", "ab", "ba"),
    ]:
        check(sol.min_window_substring(text, required), want, f"min_window_substring({text!r}, {required!r})")


@fuzz
@given(st.text("abc", max_size=12), st.text("abc", max_size=3))
def test_min_window_substring_matches_brute_force(text: str, required: str) -> None:
    check(
        sol.min_window_substring(text, required),
        brute_min_window(text, required),
        f"min_window_substring({text!r}, {required!r})",
    )


def test_min_window_substring_scales() -> None:
    def work(n: int):
        text = "x" * (n - 2) + "ab"
        return lambda: sol.min_window_substring(text, "ab")

    assert_scales(work, 400, what="min_window_substring")


# --------------------------------------------------------------------------- distinct_in_windows


def test_distinct_in_windows_examples() -> None:
    for nums, k, want in [
        ([1, 2, 1, 3, 4, 2, 3], 4, [3, 4, 4, 3]),
        ([1, 2, 4, 4], 2, [2, 2, 1]),
        ([], 1, []),
        ([7], 1, [1]),
        ([1, 2], 3, []),
        ([-1, -1, -1], 2, [1, 1]),
        ([1, 2, 3], 3, [3]),
    ]:
        check(sol.distinct_in_windows(nums, k), want, f"distinct_in_windows({nums}, {k})")


@fuzz
@given(st.lists(st.integers(-3, 3), max_size=20), st.integers(1, 6))
def test_distinct_in_windows_matches_brute_force(nums: list[int], k: int) -> None:
    check(
        sol.distinct_in_windows(nums, k),
        [len(set(w)) for w in windows(nums, k)],
        f"distinct_in_windows({nums}, {k})",
    )


def test_distinct_in_windows_scales() -> None:
    def work(n: int):  # windows of half the input: a set per window is quadratic
        nums = [i % 50 for i in range(n)]
        return lambda: sol.distinct_in_windows(nums, n // 2)

    assert_scales(work, 400, what="distinct_in_windows")
