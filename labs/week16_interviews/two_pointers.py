"""Two pointers: two indices walk toward each other (or one chases the other), each step O(1)."""

from __future__ import annotations

LESSON = "see weeks/16-interviews/README.md, section 'Two pointers'"


def is_palindrome(s: str) -> bool:
    """True if ``s`` reads the same both ways, looking only at letters and digits, ignoring case.

    Constraints: any string up to 10^5 characters; the empty string is a palindrome.
    Example: is_palindrome("A man, a plan, a canal: Panama") is True.
    """
    raise NotImplementedError(LESSON)


def two_sum_sorted(numbers: list[int], target: int) -> tuple[int, int] | None:
    """Indices ``(i, j)``, ``i < j``, with ``numbers[i] + numbers[j] == target``; None if none.

    ``numbers`` is sorted ascending (duplicates allowed). Any valid pair is accepted.
    Constraints: len up to 10^5; use O(1) extra space.
    Example: two_sum_sorted([2, 7, 11, 15], 9) == (0, 1).
    """
    raise NotImplementedError(LESSON)


def three_sum(nums: list[int]) -> list[tuple[int, int, int]]:
    """Every distinct triple of values at three different positions that sums to zero.

    Each triple is sorted ascending; the list is sorted; no triple appears twice.
    Constraints: len up to 3000.
    Example: three_sum([-1, 0, 1, 2, -1, -4]) == [(-1, -1, 2), (-1, 0, 1)].
    """
    raise NotImplementedError(LESSON)


def container_with_most_water(heights: list[int]) -> int:
    """The most water two of the vertical lines can hold: ``min(h[i], h[j]) * (j - i)``, maximised.

    Constraints: heights >= 0, len up to 10^5; fewer than two lines hold nothing (0).
    Example: container_with_most_water([1, 8, 6, 2, 5, 4, 8, 3, 7]) == 49.
    """
    raise NotImplementedError(LESSON)


def move_zeroes(nums: list[int]) -> list[int]:
    """A copy of ``nums`` with every 0 moved to the end, the other values in their order.

    Constraints: len up to 10^5.
    Example: move_zeroes([0, 1, 0, 3, 12]) == [1, 3, 12, 0, 0].
    """
    raise NotImplementedError(LESSON)


def trapping_rain_water(heights: list[int]) -> int:
    """Units of rain trapped between bars of these heights (width 1 each).

    Constraints: heights >= 0, len up to 10^5.
    Example: trapping_rain_water([0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 2, 1]) == 6.
    """
    raise NotImplementedError(LESSON)


def sorted_squares(nums: list[int]) -> list[int]:
    """The squares of a sorted list (negatives allowed), sorted ascending.

    Constraints: ``nums`` sorted ascending, len up to 10^5.
    Example: sorted_squares([-4, -1, 0, 3, 10]) == [0, 1, 9, 16, 100].
    """
    raise NotImplementedError(LESSON)
