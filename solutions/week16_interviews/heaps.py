"""Heaps: the smallest (or largest) of a changing set in O(log n) — keep k, not everything."""

from __future__ import annotations

import heapq


def kth_largest(nums: list[int], k: int) -> int:
    """The ``k``-th largest element (by position in sorted order, so duplicates count).

    Constraints: 1 <= k <= len(nums) <= 10^5.
    Example: kth_largest([3, 2, 1, 5, 6, 4], 2) == 5; kth_largest([3, 3, 3], 2) == 3.

    Complexity: O(n log k) time, O(k) space — a min-heap of the k largest seen; its top is the
    answer.
    """
    heap = nums[:k]
    heapq.heapify(heap)
    for value in nums[k:]:
        if value > heap[0]:
            heapq.heapreplace(heap, value)
    return heap[0]


class KthLargestStream:
    """The ``k``-th largest of a stream: start with ``nums``, then ``add(value) -> int`` each value.

    ``add`` returns the k-th largest of everything seen so far (there are at least k by then).
    Example: KthLargestStream(3, [4, 5, 8, 2]): add(3) == 4, add(5) == 5, add(10) == 5.

    Complexity: O(log k) time per add, O(k) space — a min-heap of the k largest.
    """

    def __init__(self, k: int, nums: list[int]) -> None:
        self.k = k
        self._heap = list(nums)
        heapq.heapify(self._heap)
        while len(self._heap) > k:
            heapq.heappop(self._heap)

    def add(self, value: int) -> int:
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, value)
        elif value > self._heap[0]:
            heapq.heapreplace(self._heap, value)
        return self._heap[0]


def merge_k_sorted(lists: list[list[int]]) -> list[int]:
    """Merge ``k`` sorted lists into one sorted list.

    Constraints: up to 10^4 lists, 10^5 values in all; lists may be empty.
    Example: merge_k_sorted([[1, 4, 5], [1, 3, 4], [2, 6]]) == [1, 1, 2, 3, 4, 4, 5, 6].

    Complexity: O(N log k) time for N values, O(k) space besides the output — a heap holds each
    list's next value.
    """
    heap = [(values[0], which, 0) for which, values in enumerate(lists) if values]
    heapq.heapify(heap)
    out: list[int] = []
    while heap:
        value, which, index = heap[0]
        out.append(value)
        if index + 1 < len(lists[which]):
            heapq.heapreplace(heap, (lists[which][index + 1], which, index + 1))
        else:
            heapq.heappop(heap)
    return out


def k_closest_points(points: list[tuple[int, int]], k: int) -> list[tuple[int, int]]:
    """The ``k`` points closest to the origin, closest first; ties: the smaller (x, y) first.

    Constraints: 0 <= k <= len(points) <= 10^5; integer coordinates.
    Example: k_closest_points([(1, 3), (-2, 2), (2, -2)], 2) == [(-2, 2), (2, -2)].

    Complexity: O(n log k) time, O(k) space — heapq.nsmallest keeps a heap of k candidates,
    keyed by (squared distance, point): no square roots needed.
    """
    return heapq.nsmallest(k, points, key=lambda p: (p[0] * p[0] + p[1] * p[1], p))


class MedianFinder:
    """The median of a growing collection: ``add(value)``, ``median() -> float``.

    With an even count the median is the mean of the two middle values. ``median()`` before any
    ``add`` raises ``IndexError``.
    Example: add(1), add(2): median() == 1.5; add(3): median() == 2.0.

    Complexity: O(log n) per add, O(1) per median, O(n) space — a max-heap of the lower half and a
    min-heap of the upper half, sizes within one of each other.
    """

    def __init__(self) -> None:
        self._low: list[int] = []  # negated: a max-heap
        self._high: list[int] = []

    def add(self, value: int) -> None:
        heapq.heappush(self._low, -value)
        heapq.heappush(self._high, -heapq.heappop(self._low))
        if len(self._high) > len(self._low):
            heapq.heappush(self._low, -heapq.heappop(self._high))

    def median(self) -> float:
        if not self._low:
            raise IndexError("median of nothing")
        if len(self._low) > len(self._high):
            return float(-self._low[0])
        return (-self._low[0] + self._high[0]) / 2
