"""Intervals: sort by start (or end) once, then one sweep decides every overlap."""

from __future__ import annotations

import heapq


def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping closed intervals ``(start, end)``; intervals that touch merge too.

    The result is sorted by start. Constraints: start <= end; any order; up to 10^5 intervals.
    Example: merge_intervals([(1, 3), (8, 10), (2, 6), (10, 12)]) == [(1, 6), (8, 12)].

    Complexity: O(n log n) time, O(n) space — sort by start; each interval either extends the
    last merged one or starts a new one.
    """
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def insert_interval(intervals: list[tuple[int, int]], new: tuple[int, int]) -> list[tuple[int, int]]:
    """Insert ``new`` into sorted, non-overlapping closed intervals, merging where needed.

    Touching intervals merge. Constraints: up to 10^5 intervals — O(n), no re-sort needed.
    Example: insert_interval([(1, 3), (6, 9)], (2, 5)) == [(1, 5), (6, 9)].

    Complexity: O(n) time, O(n) space — copy those ending before it, absorb those overlapping it,
    copy the rest.
    """
    out: list[tuple[int, int]] = []
    start, end = new
    i = 0
    while i < len(intervals) and intervals[i][1] < start:
        out.append(intervals[i])
        i += 1
    while i < len(intervals) and intervals[i][0] <= end:
        start, end = min(start, intervals[i][0]), max(end, intervals[i][1])
        i += 1
    out.append((start, end))
    out.extend(intervals[i:])
    return out


def min_removals_to_not_overlap(intervals: list[tuple[int, int]]) -> int:
    """The fewest intervals to remove so the rest do not overlap (half-open: (1, 2), (2, 3) is fine).

    Constraints: start < end; up to 10^5 intervals.
    Example: min_removals_to_not_overlap([(1, 2), (2, 3), (3, 4), (1, 3)]) == 1.

    Complexity: O(n log n) time, O(n) space — greedy by end: keep the interval that ends first,
    it leaves the most room for the rest.
    """
    kept = 0
    last_end: int | None = None
    for start, end in sorted(intervals, key=lambda interval: interval[1]):
        if last_end is None or start >= last_end:
            kept += 1
            last_end = end
    return len(intervals) - kept


def can_attend_all(meetings: list[tuple[int, int]]) -> bool:
    """True if no two meetings ``[start, end)`` overlap (one may start as another ends).

    Constraints: start < end; up to 10^5 meetings.
    Example: can_attend_all([(0, 30), (5, 10), (15, 20)]) is False.

    Complexity: O(n log n) time, O(n) space — sorted by start, only neighbours can overlap.
    """
    ordered = sorted(meetings)
    return all(ordered[i][0] >= ordered[i - 1][1] for i in range(1, len(ordered)))


def min_meeting_rooms(meetings: list[tuple[int, int]]) -> int:
    """The fewest rooms that hold every meeting ``[start, end)`` (a room frees at ``end``).

    Constraints: start < end; up to 10^5 meetings.
    Example: min_meeting_rooms([(0, 30), (5, 10), (15, 20)]) == 2.

    Complexity: O(n log n) time, O(n) space — by start time; a min-heap of end times holds the
    rooms in use, and the earliest to free is reused when it is free.
    """
    ends: list[int] = []
    for start, end in sorted(meetings):
        if ends and ends[0] <= start:
            heapq.heapreplace(ends, end)
        else:
            heapq.heappush(ends, end)
    return len(ends)
