"""Two pointers: two indices walk toward each other (or one chases the other), each step O(1)."""

from __future__ import annotations


def is_palindrome(s: str) -> bool:
    """True if ``s`` reads the same both ways, looking only at letters and digits, ignoring case.

    Constraints: any string up to 10^5 characters; the empty string is a palindrome.
    Example: is_palindrome("A man, a plan, a canal: Panama") is True.

    Complexity: O(n) time, O(1) space — pointers from both ends skip what is not alphanumeric.
    """
    left, right = 0, len(s) - 1
    while left < right:
        if not s[left].isalnum():
            left += 1
        elif not s[right].isalnum():
            right -= 1
        elif s[left].lower() != s[right].lower():
            return False
        else:
            left, right = left + 1, right - 1
    return True


def two_sum_sorted(numbers: list[int], target: int) -> tuple[int, int] | None:
    """Indices ``(i, j)``, ``i < j``, with ``numbers[i] + numbers[j] == target``; None if none.

    ``numbers`` is sorted ascending (duplicates allowed). Any valid pair is accepted.
    Constraints: len up to 10^5; use O(1) extra space.
    Example: two_sum_sorted([2, 7, 11, 15], 9) == (0, 1).

    Complexity: O(n) time, O(1) space — too small a sum moves the left pointer up, too big moves
    the right one down; neither move can skip a pair.
    """
    left, right = 0, len(numbers) - 1
    while left < right:
        total = numbers[left] + numbers[right]
        if total == target:
            return left, right
        if total < target:
            left += 1
        else:
            right -= 1
    return None


def three_sum(nums: list[int]) -> list[tuple[int, int, int]]:
    """Every distinct triple of values at three different positions that sums to zero.

    Each triple is sorted ascending; the list is sorted; no triple appears twice.
    Constraints: len up to 3000.
    Example: three_sum([-1, 0, 1, 2, -1, -4]) == [(-1, -1, 2), (-1, 0, 1)].

    Complexity: O(n²) time, O(1) extra space besides the output — sort, fix the smallest value,
    two-pointer the rest; skipping equal neighbours removes duplicates. (The brute force is O(n³).)
    """
    values = sorted(nums)
    found: list[tuple[int, int, int]] = []
    for first in range(len(values) - 2):
        if first and values[first] == values[first - 1]:
            continue
        left, right = first + 1, len(values) - 1
        while left < right:
            total = values[first] + values[left] + values[right]
            if total < 0:
                left += 1
            elif total > 0:
                right -= 1
            else:
                found.append((values[first], values[left], values[right]))
                left += 1
                while left < right and values[left] == values[left - 1]:
                    left += 1
                right -= 1
    return found


def container_with_most_water(heights: list[int]) -> int:
    """The most water two of the vertical lines can hold: ``min(h[i], h[j]) * (j - i)``, maximised.

    Constraints: heights >= 0, len up to 10^5; fewer than two lines hold nothing (0).
    Example: container_with_most_water([1, 8, 6, 2, 5, 4, 8, 3, 7]) == 49.

    Complexity: O(n) time, O(1) space — start widest and always move the shorter line: keeping it
    can never beat the area already measured.
    """
    left, right = 0, len(heights) - 1
    best = 0
    while left < right:
        best = max(best, min(heights[left], heights[right]) * (right - left))
        if heights[left] < heights[right]:
            left += 1
        else:
            right -= 1
    return best


def move_zeroes(nums: list[int]) -> list[int]:
    """A copy of ``nums`` with every 0 moved to the end, the other values in their order.

    Constraints: len up to 10^5.
    Example: move_zeroes([0, 1, 0, 3, 12]) == [1, 3, 12, 0, 0].

    Complexity: O(n) time, O(n) for the copy — a write pointer takes each non-zero in turn.
    """
    out = list(nums)
    write = 0
    for value in nums:
        if value != 0:
            out[write] = value
            write += 1
    for i in range(write, len(out)):
        out[i] = 0
    return out


def trapping_rain_water(heights: list[int]) -> int:
    """Units of rain trapped between bars of these heights (width 1 each).

    Constraints: heights >= 0, len up to 10^5.
    Example: trapping_rain_water([0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 2, 1]) == 6.

    Complexity: O(n) time, O(1) space — the lower side's water level is fixed by its own running
    maximum, because the other side is known to be at least as high.
    """
    left, right = 0, len(heights) - 1
    left_max = right_max = water = 0
    while left < right:
        if heights[left] < heights[right]:
            left_max = max(left_max, heights[left])
            water += left_max - heights[left]
            left += 1
        else:
            right_max = max(right_max, heights[right])
            water += right_max - heights[right]
            right -= 1
    return water


def sorted_squares(nums: list[int]) -> list[int]:
    """The squares of a sorted list (negatives allowed), sorted ascending.

    Constraints: ``nums`` sorted ascending, len up to 10^5.
    Example: sorted_squares([-4, -1, 0, 3, 10]) == [0, 1, 9, 16, 100].

    Complexity: O(n) time, O(n) for the output — the largest square is at one of the two ends;
    fill the output from the back.
    """
    out = [0] * len(nums)
    left, right = 0, len(nums) - 1
    for write in range(len(nums) - 1, -1, -1):
        if abs(nums[left]) > abs(nums[right]):
            out[write] = nums[left] * nums[left]
            left += 1
        else:
            out[write] = nums[right] * nums[right]
            right -= 1
    return out
