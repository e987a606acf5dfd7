"""Heaps: the smallest (or largest) of a changing set in O(log n) — keep k, not everything."""

from __future__ import annotations

LESSON = "see weeks/16-interviews/README.md, section 'Heaps'"


def kth_largest(nums: list[int], k: int) -> int:
    """The ``k``-th largest element (by position in sorted order, so duplicates count).

    Constraints: 1 <= k <= len(nums) <= 10^5.
    Example: kth_largest([3, 2, 1, 5, 6, 4], 2) == 5; kth_largest([3, 3, 3], 2) == 3.
    """
    raise NotImplementedError(LESSON)


class KthLargestStream:
    """The ``k``-th largest of a stream: start with ``nums``, then ``add(value) -> int`` each value.

    ``add`` returns the k-th largest of everything seen so far (there are at least k by then).
    Example: KthLargestStream(3, [4, 5, 8, 2]): add(3) == 4, add(5) == 5, add(10) == 5.
    """

    def __init__(self, k: int, nums: list[int]) -> None:
        raise NotImplementedError(LESSON)

    def add(self, value: int) -> int:
        raise NotImplementedError(LESSON)


def merge_k_sorted(lists: list[list[int]]) -> list[int]:
    """Merge ``k`` sorted lists into one sorted list.

    Constraints: up to 10^4 lists, 10^5 values in all; lists may be empty.
    Example: merge_k_sorted([[1, 4, 5], [1, 3, 4], [2, 6]]) == [1, 1, 2, 3, 4, 4, 5, 6].
    """
    raise NotImplementedError(LESSON)


def k_closest_points(points: list[tuple[int, int]], k: int) -> list[tuple[int, int]]:
    """The ``k`` points closest to the origin, closest first; ties: the smaller (x, y) first.

    Constraints: 0 <= k <= len(points) <= 10^5; integer coordinates.
    Example: k_closest_points([(1, 3), (-2, 2), (2, -2)], 2) == [(-2, 2), (2, -2)].
    """
    raise NotImplementedError(LESSON)


class MedianFinder:
    """The median of a growing collection: ``add(value)``, ``median() -> float``.

    With an even count the median is the mean of the two middle values. ``median()`` before any
    ``add`` raises ``IndexError``.
    Example: add(1), add(2): median() == 1.5; add(3): median() == 2.0.
    """

    def __init__(self) -> None:
        raise NotImplementedError(LESSON)

    def add(self, value: int) -> None:
        raise NotImplementedError(LESSON)

    def median(self) -> float:
        raise NotImplementedError(LESSON)
