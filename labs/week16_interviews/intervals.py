"""Intervals: sort by start (or end) once, then one sweep decides every overlap."""

from __future__ import annotations

LESSON = "see weeks/16-interviews/README.md, section 'Intervals'"


def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping closed intervals ``(start, end)``; intervals that touch merge too.

    The result is sorted by start. Constraints: start <= end; any order; up to 10^5 intervals.
    Example: merge_intervals([(1, 3), (8, 10), (2, 6), (10, 12)]) == [(1, 6), (8, 12)].
    """
    raise NotImplementedError(LESSON)


def insert_interval(intervals: list[tuple[int, int]], new: tuple[int, int]) -> list[tuple[int, int]]:
    """Insert ``new`` into sorted, non-overlapping closed intervals, merging where needed.

    Touching intervals merge. Constraints: up to 10^5 intervals — O(n), no re-sort needed.
    Example: insert_interval([(1, 3), (6, 9)], (2, 5)) == [(1, 5), (6, 9)].
    """
    raise NotImplementedError(LESSON)


def min_removals_to_not_overlap(intervals: list[tuple[int, int]]) -> int:
    """The fewest intervals to remove so the rest do not overlap (half-open: (1, 2), (2, 3) is fine).

    Constraints: start < end; up to 10^5 intervals.
    Example: min_removals_to_not_overlap([(1, 2), (2, 3), (3, 4), (1, 3)]) == 1.
    """
    raise NotImplementedError(LESSON)


def can_attend_all(meetings: list[tuple[int, int]]) -> bool:
    """True if no two meetings ``[start, end)`` overlap (one may start as another ends).

    Constraints: start < end; up to 10^5 meetings.
    Example: can_attend_all([(0, 30), (5, 10), (15, 20)]) is False.
    """
    raise NotImplementedError(LESSON)


def min_meeting_rooms(meetings: list[tuple[int, int]]) -> int:
    """The fewest rooms that hold every meeting ``[start, end)`` (a room frees at ``end``).

    Constraints: start < end; up to 10^5 meetings.
    Example: min_meeting_rooms([(0, 30), (5, 10), (15, 20)]) == 2.
    """
    raise NotImplementedError(LESSON)
