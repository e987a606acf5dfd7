"""Sliding window: keep a summary of the window and update it as one element enters and one leaves."""

from __future__ import annotations

from collections import Counter


def max_sum_window(nums: list[int], k: int) -> int | None:
    """The largest sum of ``k`` consecutive elements; None if ``nums`` has fewer than ``k``.

    Constraints: 1 <= k; negatives allowed; len up to 10^5.
    Example: max_sum_window([2, 1, 5, 1, 3, 2], 3) == 9.

    Complexity: O(n) time, O(1) space — add the element entering, subtract the one leaving.
    """
    if len(nums) < k:
        return None
    total = best = sum(nums[:k])
    for i in range(k, len(nums)):
        total += nums[i] - nums[i - k]
        best = max(best, total)
    return best


def longest_unique_substring(s: str) -> int:
    """Length of the longest substring without a repeated character.

    Constraints: any string up to 10^5 characters.
    Example: longest_unique_substring("abcabcbb") == 3 ("abc").

    Complexity: O(n) time, O(k) space for k distinct characters — remember each character's last
    index; on a repeat, jump the window's start past it.
    """
    last_seen: dict[str, int] = {}
    start = best = 0
    for i, char in enumerate(s):
        if last_seen.get(char, -1) >= start:
            start = last_seen[char] + 1
        last_seen[char] = i
        best = max(best, i - start + 1)
    return best


def min_subarray_len(target: int, nums: list[int]) -> int:
    """Length of the shortest contiguous subarray with sum >= ``target``; 0 if there is none.

    Constraints: every value >= 1, target >= 1, len up to 10^5.
    Example: min_subarray_len(7, [2, 3, 1, 2, 4, 3]) == 2 ([4, 3]).

    Complexity: O(n) time, O(1) space — grow the right end; while the sum is enough, record and
    shrink from the left. Each index enters and leaves once.
    """
    best = len(nums) + 1
    total = left = 0
    for right, value in enumerate(nums):
        total += value
        while total >= target:
            best = min(best, right - left + 1)
            total -= nums[left]
            left += 1
    return best if best <= len(nums) else 0


def longest_repeating_replacement(s: str, k: int) -> int:
    """Longest substring you can make one repeated character by replacing at most ``k`` characters.

    Constraints: uppercase letters, len up to 10^5, k >= 0.
    Example: longest_repeating_replacement("AABABBA", 1) == 4.

    Complexity: O(n) time, O(1) space (26 counts) — a window is fine while
    length − (count of its most frequent letter) <= k; the best count never needs to go down.
    """
    counts: Counter[str] = Counter()
    left = most = best = 0
    for right, char in enumerate(s):
        counts[char] += 1
        most = max(most, counts[char])
        while right - left + 1 - most > k:
            counts[s[left]] -= 1
            left += 1
        best = max(best, right - left + 1)
    return best


def contains_permutation(pattern: str, text: str) -> bool:
    """True if some rearrangement of ``pattern`` appears in ``text`` as a contiguous substring.

    Constraints: lengths up to 10^5; an empty pattern is always found.
    Example: contains_permutation("ab", "eidbaooo") is True ("ba").

    Complexity: O(n) time, O(k) space — a window of len(pattern) slides over text, its character
    counts updated in O(1) and compared by the number of characters still missing.
    """
    need = Counter(pattern)
    missing = len(pattern)
    width = len(pattern)
    if width == 0:
        return True
    for i, char in enumerate(text):
        if need[char] > 0:
            missing -= 1
        need[char] -= 1
        if i >= width:
            leaving = text[i - width]
            need[leaving] += 1
            if need[leaving] > 0:
                missing += 1
        if missing == 0:
            return True
    return False


def min_window_substring(text: str, required: str) -> str:
    """The shortest substring of ``text`` containing every character of ``required`` (with counts).

    Ties go to the leftmost; "" if there is none (or ``required`` is empty).
    Constraints: lengths up to 10^5.
    Example: min_window_substring("ADOBECODEBANC", "ABC") == "BANC".

    Complexity: O(n + m) time, O(k) space — expand until nothing is missing, then shrink while
    still nothing is missing, recording the best.
    """
    if not required:
        return ""
    need = Counter(required)
    missing = len(required)
    best_start, best_len = 0, len(text) + 1
    left = 0
    for right, char in enumerate(text):
        if need[char] > 0:
            missing -= 1
        need[char] -= 1
        while missing == 0:
            if right - left + 1 < best_len:
                best_start, best_len = left, right - left + 1
            need[text[left]] += 1
            if need[text[left]] > 0:
                missing += 1
            left += 1
    return text[best_start:best_start + best_len] if best_len <= len(text) else ""


def distinct_in_windows(nums: list[int], k: int) -> list[int]:
    """For each window of ``k`` consecutive elements, how many distinct values it holds.

    Constraints: 1 <= k; fewer than k elements gives []; len up to 10^5.
    Example: distinct_in_windows([1, 2, 1, 3, 4, 2, 3], 4) == [3, 4, 4, 3].

    Complexity: O(n) time, O(k) space — a Counter of the window; a value whose count drops to 0
    leaves it.
    """
    if len(nums) < k:
        return []
    counts = Counter(nums[:k])
    out = [len(counts)]
    for i in range(k, len(nums)):
        counts[nums[i]] += 1
        leaving = nums[i - k]
        counts[leaving] -= 1
        if counts[leaving] == 0:
            del counts[leaving]
        out.append(len(counts))
    return out
