"""Queues and deques: first in, first out — and a deque when both ends matter."""

from __future__ import annotations

LESSON = "see weeks/16-interviews/README.md, section 'Queues and deques'"


class QueueFromStacks:
    """A FIFO queue built only from two stacks (Python lists used with append and pop()).

    ``push(x)``, ``pop() -> int``, ``peek() -> int``, ``empty() -> bool``; pop and peek on an empty
    queue raise ``IndexError``. Every operation amortised O(1).
    Example: push(1), push(2), peek() == 1, pop() == 1, empty() is False.
    """

    def __init__(self) -> None:
        raise NotImplementedError(LESSON)

    def push(self, value: int) -> None:
        raise NotImplementedError(LESSON)

    def pop(self) -> int:
        raise NotImplementedError(LESSON)

    def peek(self) -> int:
        raise NotImplementedError(LESSON)

    def empty(self) -> bool:
        raise NotImplementedError(LESSON)


class CircularQueue:
    """A bounded FIFO queue in a fixed array of ``capacity`` slots.

    ``enqueue(x) -> bool`` (False when full: the value is refused), ``dequeue() -> int | None``
    (None when empty), ``front()`` and ``rear()`` (None when empty), ``is_empty()``, ``is_full()``,
    ``len(q)``. Constraints: capacity >= 1; never holds more than capacity values.
    Example: CircularQueue(2): enqueue(1), enqueue(2) are True, enqueue(3) is False, dequeue() == 1.
    """

    def __init__(self, capacity: int) -> None:
        raise NotImplementedError(LESSON)

    def enqueue(self, value: int) -> bool:
        raise NotImplementedError(LESSON)

    def dequeue(self) -> int | None:
        raise NotImplementedError(LESSON)

    def front(self) -> int | None:
        raise NotImplementedError(LESSON)

    def rear(self) -> int | None:
        raise NotImplementedError(LESSON)

    def is_empty(self) -> bool:
        raise NotImplementedError(LESSON)

    def is_full(self) -> bool:
        raise NotImplementedError(LESSON)

    def __len__(self) -> int:
        raise NotImplementedError(LESSON)


def sliding_window_max(nums: list[int], k: int) -> list[int]:
    """The maximum of every window of ``k`` consecutive elements, left to right.

    Constraints: 1 <= k; fewer than k elements gives []; len up to 10^5.
    Example: sliding_window_max([1, 3, -1, -3, 5, 3, 6, 7], 3) == [3, 3, 5, 5, 6, 7].
    """
    raise NotImplementedError(LESSON)


class RecentCounter:
    """Counts requests in the last ``window_ms`` milliseconds, inclusive: ``[t - window_ms, t]``.

    ``ping(t_ms) -> int`` records a request at ``t_ms`` and returns how many recorded requests fall
    in the window ending at it. Calls come with non-decreasing ``t_ms``.
    Example: RecentCounter(3000): ping(1) == 1, ping(100) == 2, ping(3001) == 3, ping(3002) == 3.
    """

    def __init__(self, window_ms: int = 3000) -> None:
        raise NotImplementedError(LESSON)

    def ping(self, t_ms: int) -> int:
        raise NotImplementedError(LESSON)


class FirstUnique:
    """The first value, in arrival order, seen exactly once so far.

    ``add(x)`` records a value; ``first_unique() -> int | None`` answers (None if none).
    Example: add(2), add(3), add(2): first_unique() == 3.
    """

    def __init__(self) -> None:
        raise NotImplementedError(LESSON)

    def add(self, value: int) -> None:
        raise NotImplementedError(LESSON)

    def first_unique(self) -> int | None:
        raise NotImplementedError(LESSON)


def minutes_to_rot(grid: list[list[int]]) -> int:
    """Minutes until no fresh orange is left; -1 if some never rot.

    Cells: 0 empty, 1 fresh, 2 rotten. Each minute, every fresh orange next to a rotten one
    (up, down, left, right) rots. Constraints: up to 10^5 cells. A grid with no fresh orange: 0.
    Example: minutes_to_rot([[2, 1, 1], [1, 1, 0], [0, 1, 1]]) == 4.
    """
    raise NotImplementedError(LESSON)


class MovingAverage:
    """The average of the last ``size`` values seen (fewer at the start).

    ``next(value) -> float`` adds a value and returns the current average.
    Example: MovingAverage(3): next(1) == 1.0, next(10) == 5.5, next(3) == 14/3, next(5) == 6.0.
    """

    def __init__(self, size: int) -> None:
        raise NotImplementedError(LESSON)

    def next(self, value: int) -> float:
        raise NotImplementedError(LESSON)
