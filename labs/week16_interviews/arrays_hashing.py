"""Arrays and hashing: trade memory for time — a dict or a set turns "have I seen it?" into O(1)."""

from __future__ import annotations

LESSON = "see weeks/16-interviews/README.md, section 'Arrays and hashing'"


def two_sum(nums: list[int], target: int) -> tuple[int, int] | None:
    """Indices ``(i, j)``, ``i < j``, of two numbers that add up to ``target``; None if none do.

    If several pairs do, return the one with the smallest ``j``, and for it the smallest ``i``.
    Constraints: len(nums) up to 10^5; values and target any ints (negatives too).
    Example: two_sum([2, 7, 11, 15], 9) == (0, 1).
    """
    raise NotImplementedError(LESSON)


def contains_duplicate(nums: list[int]) -> bool:
    """True if any value appears at least twice.

    Constraints: len(nums) up to 10^5.
    Example: contains_duplicate([1, 2, 3, 1]) is True; contains_duplicate([]) is False.
    """
    raise NotImplementedError(LESSON)


def is_anagram(s: str, t: str) -> bool:
    """True if ``t`` uses exactly the same characters as ``s``, each as many times.

    Constraints: any Unicode strings, case-sensitive, length up to 10^5.
    Example: is_anagram("listen", "silent") is True; is_anagram("ab", "abb") is False.
    """
    raise NotImplementedError(LESSON)


def group_anagrams(words: list[str]) -> list[list[str]]:
    """Group words that are anagrams of each other.

    Groups come in the order of their first word in ``words``; words keep their input order
    inside a group (duplicates stay).
    Constraints: up to 10^4 words of up to 100 characters.
    Example: group_anagrams(["eat", "tea", "tan", "ate", "nat", "bat"])
    == [["eat", "tea", "ate"], ["tan", "nat"], ["bat"]].
    """
    raise NotImplementedError(LESSON)


def top_k_frequent(nums: list[int], k: int) -> list[int]:
    """The ``k`` most frequent values, most frequent first; ties: the smaller value first.

    Constraints: 0 <= k <= number of distinct values; len(nums) up to 10^5.
    Example: top_k_frequent([1, 1, 1, 2, 2, 3], 2) == [1, 2].
    """
    raise NotImplementedError(LESSON)


def product_except_self(nums: list[int]) -> list[int]:
    """``out[i]`` = the product of every element except ``nums[i]`` — without division.

    Constraints: len(nums) up to 10^5; zeros allowed (which is why division does not work).
    Example: product_except_self([1, 2, 3, 4]) == [24, 12, 8, 6].
    """
    raise NotImplementedError(LESSON)


def longest_consecutive(nums: list[int]) -> int:
    """Length of the longest run of consecutive integers (in any order) found in ``nums``.

    Constraints: unsorted, duplicates allowed, len up to 10^5 — do it in O(n), without sorting.
    Example: longest_consecutive([100, 4, 200, 1, 3, 2]) == 4 (1, 2, 3, 4).
    """
    raise NotImplementedError(LESSON)


def subarray_sum_equals_k(nums: list[int], k: int) -> int:
    """How many contiguous, non-empty subarrays sum to ``k``.

    Constraints: negatives allowed (so a sliding window does not work); len up to 10^5.
    Example: subarray_sum_equals_k([1, 1, 1], 2) == 2.
    """
    raise NotImplementedError(LESSON)
