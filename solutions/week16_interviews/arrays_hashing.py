"""Arrays and hashing: trade memory for time — a dict or a set turns "have I seen it?" into O(1)."""

from __future__ import annotations

from collections import Counter, defaultdict


def two_sum(nums: list[int], target: int) -> tuple[int, int] | None:
    """Indices ``(i, j)``, ``i < j``, of two numbers that add up to ``target``; None if none do.

    If several pairs do, return the one with the smallest ``j``, and for it the smallest ``i``.
    Constraints: len(nums) up to 10^5; values and target any ints (negatives too).
    Example: two_sum([2, 7, 11, 15], 9) == (0, 1).

    Complexity: O(n) time, O(n) space — one pass; a dict remembers the first index of each value.
    """
    first_index: dict[int, int] = {}
    for j, value in enumerate(nums):
        i = first_index.get(target - value)
        if i is not None:
            return i, j
        first_index.setdefault(value, j)
    return None


def contains_duplicate(nums: list[int]) -> bool:
    """True if any value appears at least twice.

    Constraints: len(nums) up to 10^5.
    Example: contains_duplicate([1, 2, 3, 1]) is True; contains_duplicate([]) is False.

    Complexity: O(n) time, O(n) space — a set of the values seen so far.
    """
    seen: set[int] = set()
    for value in nums:
        if value in seen:
            return True
        seen.add(value)
    return False


def is_anagram(s: str, t: str) -> bool:
    """True if ``t`` uses exactly the same characters as ``s``, each as many times.

    Constraints: any Unicode strings, case-sensitive, length up to 10^5.
    Example: is_anagram("listen", "silent") is True; is_anagram("ab", "abb") is False.

    Complexity: O(n) time, O(k) space for k distinct characters — count, then compare counts.
    """
    return len(s) == len(t) and Counter(s) == Counter(t)


def group_anagrams(words: list[str]) -> list[list[str]]:
    """Group words that are anagrams of each other.

    Groups come in the order of their first word in ``words``; words keep their input order
    inside a group (duplicates stay).
    Constraints: up to 10^4 words of up to 100 characters.
    Example: group_anagrams(["eat", "tea", "tan", "ate", "nat", "bat"])
    == [["eat", "tea", "ate"], ["tan", "nat"], ["bat"]].

    Complexity: O(n · m log m) time for n words of length m, O(n · m) space — the sorted letters
    are the group's key in one dict (dicts keep insertion order).
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for word in words:
        groups["".join(sorted(word))].append(word)
    return list(groups.values())


def top_k_frequent(nums: list[int], k: int) -> list[int]:
    """The ``k`` most frequent values, most frequent first; ties: the smaller value first.

    Constraints: 0 <= k <= number of distinct values; len(nums) up to 10^5.
    Example: top_k_frequent([1, 1, 1, 2, 2, 3], 2) == [1, 2].

    Complexity: O(n + d log d) time for d distinct values, O(d) space — count, then sort the
    distinct values once by (-count, value).
    """
    counts = Counter(nums)
    return sorted(counts, key=lambda value: (-counts[value], value))[:k]


def product_except_self(nums: list[int]) -> list[int]:
    """``out[i]`` = the product of every element except ``nums[i]`` — without division.

    Constraints: len(nums) up to 10^5; zeros allowed (which is why division does not work).
    Example: product_except_self([1, 2, 3, 4]) == [24, 12, 8, 6].

    Complexity: O(n) time, O(1) extra space besides the output — a prefix product left to right,
    then a suffix product right to left multiplied in.
    """
    out = [1] * len(nums)
    prefix = 1
    for i, value in enumerate(nums):
        out[i] = prefix
        prefix *= value
    suffix = 1
    for i in range(len(nums) - 1, -1, -1):
        out[i] *= suffix
        suffix *= nums[i]
    return out


def longest_consecutive(nums: list[int]) -> int:
    """Length of the longest run of consecutive integers (in any order) found in ``nums``.

    Constraints: unsorted, duplicates allowed, len up to 10^5 — do it in O(n), without sorting.
    Example: longest_consecutive([100, 4, 200, 1, 3, 2]) == 4 (1, 2, 3, 4).

    Complexity: O(n) time, O(n) space — a set; count upward only from values whose predecessor is
    missing, so every value is visited at most twice.
    """
    values = set(nums)
    best = 0
    for value in values:
        if value - 1 not in values:
            end = value
            while end + 1 in values:
                end += 1
            best = max(best, end - value + 1)
    return best


def subarray_sum_equals_k(nums: list[int], k: int) -> int:
    """How many contiguous, non-empty subarrays sum to ``k``.

    Constraints: negatives allowed (so a sliding window does not work); len up to 10^5.
    Example: subarray_sum_equals_k([1, 1, 1], 2) == 2.

    Complexity: O(n) time, O(n) space — count prefix sums seen so far; a subarray ending here sums
    to k exactly when an earlier prefix equals (this prefix − k).
    """
    seen = Counter({0: 1})
    prefix = count = 0
    for value in nums:
        prefix += value
        count += seen[prefix - k]
        seen[prefix] += 1
    return count
