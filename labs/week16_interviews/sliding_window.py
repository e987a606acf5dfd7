"""Sliding window: keep a summary of the window and update it as one element enters and one leaves."""

from __future__ import annotations

LESSON = "see weeks/16-interviews/README.md, section 'Sliding window'"


def max_sum_window(nums: list[int], k: int) -> int | None:
    """The largest sum of ``k`` consecutive elements; None if ``nums`` has fewer than ``k``.

    Constraints: 1 <= k; negatives allowed; len up to 10^5.
    Example: max_sum_window([2, 1, 5, 1, 3, 2], 3) == 9.
    """
    raise NotImplementedError(LESSON)


def longest_unique_substring(s: str) -> int:
    """Length of the longest substring without a repeated character.

    Constraints: any string up to 10^5 characters.
    Example: longest_unique_substring("abcabcbb") == 3 ("abc").
    """
    raise NotImplementedError(LESSON)


def min_subarray_len(target: int, nums: list[int]) -> int:
    """Length of the shortest contiguous subarray with sum >= ``target``; 0 if there is none.

    Constraints: every value >= 1, target >= 1, len up to 10^5.
    Example: min_subarray_len(7, [2, 3, 1, 2, 4, 3]) == 2 ([4, 3]).
    """
    raise NotImplementedError(LESSON)


def longest_repeating_replacement(s: str, k: int) -> int:
    """Longest substring you can make one repeated character by replacing at most ``k`` characters.

    Constraints: uppercase letters, len up to 10^5, k >= 0.
    Example: longest_repeating_replacement("AABABBA", 1) == 4.
    """
    raise NotImplementedError(LESSON)


def contains_permutation(pattern: str, text: str) -> bool:
    """True if some rearrangement of ``pattern`` appears in ``text`` as a contiguous substring.

    Constraints: lengths up to 10^5; an empty pattern is always found.
    Example: contains_permutation("ab", "eidbaooo") is True ("ba").
    """
    raise NotImplementedError(LESSON)


def min_window_substring(text: str, required: str) -> str:
    """The shortest substring of ``text`` containing every character of ``required`` (with counts).

    Ties go to the leftmost; "" if there is none (or ``required`` is empty).
    Constraints: lengths up to 10^5.
    Example: min_window_substring("ADOBECODEBANC", "ABC") == "BANC".
    """
    raise NotImplementedError(LESSON)


def distinct_in_windows(nums: list[int], k: int) -> list[int]:
    """For each window of ``k`` consecutive elements, how many distinct values it holds.

    Constraints: 1 <= k; fewer than k elements gives []; len up to 10^5.
    Example: distinct_in_windows([1, 2, 1, 3, 4, 2, 3], 4) == [3, 4, 4, 3].
    """
    raise NotImplementedError(LESSON)
