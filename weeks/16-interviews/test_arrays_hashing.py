"""Arrays and hashing — each problem: examples, a property against a brute force, a scaling check."""

from __future__ import annotations

import random
from collections import Counter
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from course.scaling import assert_scales
from labs.week16_interviews import arrays_hashing as sol

fuzz = settings(max_examples=40, deadline=None)
ints = st.lists(st.integers(-20, 20), max_size=30)


def check(got: object, want: object, call: str) -> None:
    assert got == want, f"{call}: expected {want!r}, got {got!r}"


# --------------------------------------------------------------------------- two_sum


def brute_two_sum(nums: list[int], target: int) -> tuple[int, int] | None:
    for j in range(len(nums)):
        for i in range(j):
            if nums[i] + nums[j] == target:
                return i, j
    return None


def test_two_sum_examples() -> None:
    for nums, target, want in [
        ([2, 7, 11, 15], 9, (0, 1)),
        ([3, 2, 4], 6, (1, 2)),
        ([3, 3], 6, (0, 1)),
        ([], 1, None),
        ([5], 10, None),
        ([-3, 4, 3, 90], 0, (0, 2)),
        ([1, 5, 1, 5], 6, (0, 1)),
        ([2**62, 2**62], 2**63, (0, 1)),
    ]:
        check(sol.two_sum(nums, target), want, f"two_sum({nums}, {target})")


@fuzz
@given(ints, st.integers(-40, 40))
def test_two_sum_matches_brute_force(nums: list[int], target: int) -> None:
    check(sol.two_sum(nums, target), brute_two_sum(nums, target), f"two_sum({nums}, {target})")


def test_two_sum_scales() -> None:
    def work(n: int):  # no pair sums to -1: the whole input is read
        nums = list(range(0, 2 * n, 2))
        return lambda: sol.two_sum(nums, -1)

    assert_scales(work, 400, what="two_sum")


# --------------------------------------------------------------------------- contains_duplicate


def test_contains_duplicate_examples() -> None:
    for nums, want in [
        ([1, 2, 3, 1], True),
        ([1, 2, 3, 4], False),
        ([], False),
        ([7], False),
        ([-1, -1], True),
        ([0, 1, 0], True),
    ]:
        check(sol.contains_duplicate(nums), want, f"contains_duplicate({nums})")


@fuzz
@given(ints)
def test_contains_duplicate_matches_brute_force(nums: list[int]) -> None:
    want = any(a == b for a, b in combinations(nums, 2))
    check(sol.contains_duplicate(nums), want, f"contains_duplicate({nums})")


def test_contains_duplicate_scales() -> None:
    def work(n: int):
        nums = list(range(n))
        return lambda: sol.contains_duplicate(nums)

    assert_scales(work, 400, what="contains_duplicate")


# --------------------------------------------------------------------------- is_anagram


def test_is_anagram_examples() -> None:
    for s, t, want in [
        ("listen", "silent", True),
        ("rat", "car", False),
        ("", "", True),
        ("a", "a", True),
        ("ab", "abb", False),
        ("aab", "abb", False),
        ("Ab", "ab", False),
        ("été", "tée", False),
        ("été", "tété"[1:], True),
    ]:
        check(sol.is_anagram(s, t), want, f"is_anagram({s!r}, {t!r})")


@fuzz
@given(st.text("abc", max_size=8), st.text("abc", max_size=8))
def test_is_anagram_matches_brute_force(s: str, t: str) -> None:
    check(sol.is_anagram(s, t), sorted(s) == sorted(t), f"is_anagram({s!r}, {t!r})")


def test_is_anagram_scales() -> None:
    def work(n: int):
        s = "".join(chr(0x4E00 + i) for i in range(n))
        t = s[::-1]
        return lambda: sol.is_anagram(s, t)

    assert_scales(work, 400, what="is_anagram")


# --------------------------------------------------------------------------- group_anagrams


def brute_group_anagrams(words: list[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    for word in words:
        for group in groups:
            if sorted(group[0]) == sorted(word):
                group.append(word)
                break
        else:
            groups.append([word])
    return groups


def test_group_anagrams_examples() -> None:
    for words, want in [
        (["eat", "tea", "tan", "ate", "nat", "bat"], [["eat", "tea", "ate"], ["tan", "nat"], ["bat"]]),
        ([], []),
        ([""], [[""]]),
        (["a"], [["a"]]),
        (["ab", "ba", "ab"], [["ab", "ba", "ab"]]),
        (["abc", "ab", "c"], [["abc"], ["ab"], ["c"]]),
    ]:
        check(sol.group_anagrams(words), want, f"group_anagrams({words})")


@fuzz
@given(st.lists(st.text("abc", max_size=3), max_size=12))
def test_group_anagrams_matches_brute_force(words: list[str]) -> None:
    check(sol.group_anagrams(words), brute_group_anagrams(words), f"group_anagrams({words})")


def test_group_anagrams_scales() -> None:
    def work(n: int):  # n words, no two anagrams: a group list searched per word is quadratic
        words = [f"w{i}" for i in range(n)]
        return lambda: sol.group_anagrams(words)

    assert_scales(work, 400, what="group_anagrams")


# --------------------------------------------------------------------------- top_k_frequent


def brute_top_k(nums: list[int], k: int) -> list[int]:
    counts = Counter(nums)
    return sorted(set(nums), key=lambda v: (-nums.count(v), v))[:k] if counts else []


def test_top_k_frequent_examples() -> None:
    for nums, k, want in [
        ([1, 1, 1, 2, 2, 3], 2, [1, 2]),
        ([1], 1, [1]),
        ([], 0, []),
        ([4, 4, 5, 5, 6], 2, [4, 5]),
        ([-1, -1, 2], 1, [-1]),
        ([3, 1, 2], 3, [1, 2, 3]),
    ]:
        check(sol.top_k_frequent(nums, k), want, f"top_k_frequent({nums}, {k})")


@fuzz
@given(ints, st.integers(0, 10))
def test_top_k_frequent_matches_brute_force(nums: list[int], k: int) -> None:
    k = min(k, len(set(nums)))
    check(sol.top_k_frequent(nums, k), brute_top_k(nums, k), f"top_k_frequent({nums}, {k})")


def test_top_k_frequent_scales() -> None:
    def work(n: int):
        nums = [i % (n // 2) for i in range(n)]
        return lambda: sol.top_k_frequent(nums, 10)

    assert_scales(work, 400, what="top_k_frequent")


# --------------------------------------------------------------------------- product_except_self


def brute_product(nums: list[int]) -> list[int]:
    out = []
    for i in range(len(nums)):
        product = 1
        for j, value in enumerate(nums):
            if j != i:
                product *= value
        out.append(product)
    return out


def test_product_except_self_examples() -> None:
    for nums, want in [
        ([1, 2, 3, 4], [24, 12, 8, 6]),
        ([-1, 1, 0, -3, 3], [0, 0, 9, 0, 0]),
        ([5], [1]),
        ([], []),
        ([0, 0], [0, 0]),
        ([2, -3], [-3, 2]),
    ]:
        check(sol.product_except_self(nums), want, f"product_except_self({nums})")


@fuzz
@given(st.lists(st.integers(-5, 5), max_size=12))
def test_product_except_self_matches_brute_force(nums: list[int]) -> None:
    check(sol.product_except_self(nums), brute_product(nums), f"product_except_self({nums})")


def test_product_except_self_scales() -> None:
    def work(n: int):
        nums = [1 if i % 3 else -1 for i in range(n)]
        return lambda: sol.product_except_self(nums)

    assert_scales(work, 400, what="product_except_self")


# --------------------------------------------------------------------------- longest_consecutive


def brute_longest_consecutive(nums: list[int]) -> int:
    best = 0
    for start in nums:
        length = 0
        while start + length in nums:
            length += 1
        best = max(best, length)
    return best


def test_longest_consecutive_examples() -> None:
    for nums, want in [
        ([100, 4, 200, 1, 3, 2], 4),
        ([0, 3, 7, 2, 5, 8, 4, 6, 0, 1], 9),
        ([], 0),
        ([5], 1),
        ([1, 1, 1], 1),
        ([-2, -1, 0, 5], 3),
        ([10, 30, 20], 1),
    ]:
        check(sol.longest_consecutive(nums), want, f"longest_consecutive({nums})")


@fuzz
@given(ints)
def test_longest_consecutive_matches_brute_force(nums: list[int]) -> None:
    check(sol.longest_consecutive(nums), brute_longest_consecutive(nums), f"longest_consecutive({nums})")


def test_longest_consecutive_scales() -> None:
    def work(n: int):  # one long run, shuffled: counting up from every value is quadratic
        nums = list(range(n))
        random.Random(n).shuffle(nums)
        return lambda: sol.longest_consecutive(nums)

    assert_scales(work, 400, what="longest_consecutive")


# --------------------------------------------------------------------------- subarray_sum_equals_k


def brute_subarray_sum(nums: list[int], k: int) -> int:
    return sum(sum(nums[i:j]) == k for i in range(len(nums)) for j in range(i + 1, len(nums) + 1))


def test_subarray_sum_equals_k_examples() -> None:
    for nums, k, want in [
        ([1, 1, 1], 2, 2),
        ([1, 2, 3], 3, 2),
        ([], 0, 0),
        ([0], 0, 1),
        ([5], 3, 0),
        ([1, -1, 0], 0, 3),
        ([0, 0, 0], 0, 6),
        ([-1, -1, 1], 0, 1),
    ]:
        check(sol.subarray_sum_equals_k(nums, k), want, f"subarray_sum_equals_k({nums}, {k})")


@fuzz
@given(st.lists(st.integers(-5, 5), max_size=15), st.integers(-5, 5))
def test_subarray_sum_equals_k_matches_brute_force(nums: list[int], k: int) -> None:
    check(
        sol.subarray_sum_equals_k(nums, k), brute_subarray_sum(nums, k), f"subarray_sum_equals_k({nums}, {k})"
    )


def test_subarray_sum_equals_k_scales() -> None:
    def work(n: int):
        nums = [(i * 7) % 5 - 2 for i in range(n)]
        return lambda: sol.subarray_sum_equals_k(nums, 3)

    assert_scales(work, 400, what="subarray_sum_equals_k")
