"""Queues and deques: first in, first out — and a deque when both ends matter."""

from __future__ import annotations

from collections import Counter, deque


class QueueFromStacks:
    """A FIFO queue built only from two stacks (Python lists used with append and pop()).

    ``push(x)``, ``pop() -> int``, ``peek() -> int``, ``empty() -> bool``; pop and peek on an empty
    queue raise ``IndexError``. Every operation amortised O(1).
    Example: push(1), push(2), peek() == 1, pop() == 1, empty() is False.

    Complexity: amortised O(1) time per operation, O(n) space — new items go on the inbox; the
    outbox is refilled (reversing the inbox) only when it is empty, so each item moves once.
    """

    def __init__(self) -> None:
        self._inbox: list[int] = []
        self._outbox: list[int] = []

    def push(self, value: int) -> None:
        self._inbox.append(value)

    def _refill(self) -> None:
        if not self._outbox:
            while self._inbox:
                self._outbox.append(self._inbox.pop())
        if not self._outbox:
            raise IndexError("the queue is empty")

    def pop(self) -> int:
        self._refill()
        return self._outbox.pop()

    def peek(self) -> int:
        self._refill()
        return self._outbox[-1]

    def empty(self) -> bool:
        return not self._inbox and not self._outbox


class CircularQueue:
    """A bounded FIFO queue in a fixed array of ``capacity`` slots.

    ``enqueue(x) -> bool`` (False when full: the value is refused), ``dequeue() -> int | None``
    (None when empty), ``front()`` and ``rear()`` (None when empty), ``is_empty()``, ``is_full()``,
    ``len(q)``. Constraints: capacity >= 1; never holds more than capacity values.
    Example: CircularQueue(2): enqueue(1), enqueue(2) are True, enqueue(3) is False, dequeue() == 1.

    Complexity: O(1) time per operation, O(capacity) space — a head index and a count; the tail
    is (head + count) % capacity.
    """

    def __init__(self, capacity: int) -> None:
        self._slots: list[int | None] = [None] * capacity
        self._head = 0
        self._count = 0

    def enqueue(self, value: int) -> bool:
        if self.is_full():
            return False
        self._slots[(self._head + self._count) % len(self._slots)] = value
        self._count += 1
        return True

    def dequeue(self) -> int | None:
        if self.is_empty():
            return None
        value = self._slots[self._head]
        self._slots[self._head] = None
        self._head = (self._head + 1) % len(self._slots)
        self._count -= 1
        return value

    def front(self) -> int | None:
        return None if self.is_empty() else self._slots[self._head]

    def rear(self) -> int | None:
        return None if self.is_empty() else self._slots[(self._head + self._count - 1) % len(self._slots)]

    def is_empty(self) -> bool:
        return self._count == 0

    def is_full(self) -> bool:
        return self._count == len(self._slots)

    def __len__(self) -> int:
        return self._count


def sliding_window_max(nums: list[int], k: int) -> list[int]:
    """The maximum of every window of ``k`` consecutive elements, left to right.

    Constraints: 1 <= k; fewer than k elements gives []; len up to 10^5.
    Example: sliding_window_max([1, 3, -1, -3, 5, 3, 6, 7], 3) == [3, 3, 5, 5, 6, 7].

    Complexity: O(n) time, O(k) space — a deque of indices whose values decrease; the front is the
    window's maximum, smaller values behind a newcomer can never be a maximum again.
    """
    window: deque[int] = deque()
    out: list[int] = []
    for i, value in enumerate(nums):
        while window and nums[window[-1]] <= value:
            window.pop()
        window.append(i)
        if window[0] <= i - k:
            window.popleft()
        if i >= k - 1:
            out.append(nums[window[0]])
    return out


class RecentCounter:
    """Counts requests in the last ``window_ms`` milliseconds, inclusive: ``[t - window_ms, t]``.

    ``ping(t_ms) -> int`` records a request at ``t_ms`` and returns how many recorded requests fall
    in the window ending at it. Calls come with non-decreasing ``t_ms``.
    Example: RecentCounter(3000): ping(1) == 1, ping(100) == 2, ping(3001) == 3, ping(3002) == 3.

    Complexity: amortised O(1) time per ping, O(requests in the window) space — a deque; old
    pings leave from the left and never come back.
    """

    def __init__(self, window_ms: int = 3000) -> None:
        self.window_ms = window_ms
        self._pings: deque[int] = deque()

    def ping(self, t_ms: int) -> int:
        self._pings.append(t_ms)
        while self._pings[0] < t_ms - self.window_ms:
            self._pings.popleft()
        return len(self._pings)


class FirstUnique:
    """The first value, in arrival order, seen exactly once so far.

    ``add(x)`` records a value; ``first_unique() -> int | None`` answers (None if none).
    Example: add(2), add(3), add(2): first_unique() == 3.

    Complexity: amortised O(1) time per call, O(n) space — a queue of candidates and counts;
    candidates that became duplicates are dropped from the front lazily.
    """

    def __init__(self) -> None:
        self._queue: deque[int] = deque()
        self._counts: Counter[int] = Counter()

    def add(self, value: int) -> None:
        self._counts[value] += 1
        if self._counts[value] == 1:
            self._queue.append(value)

    def first_unique(self) -> int | None:
        while self._queue and self._counts[self._queue[0]] > 1:
            self._queue.popleft()
        return self._queue[0] if self._queue else None


def minutes_to_rot(grid: list[list[int]]) -> int:
    """Minutes until no fresh orange is left; -1 if some never rot.

    Cells: 0 empty, 1 fresh, 2 rotten. Each minute, every fresh orange next to a rotten one
    (up, down, left, right) rots. Constraints: up to 10^5 cells. A grid with no fresh orange: 0.
    Example: minutes_to_rot([[2, 1, 1], [1, 1, 0], [0, 1, 1]]) == 4.

    Complexity: O(cells) time and space — breadth-first search from every rotten orange at once,
    one queue level per minute.
    """
    frontier: deque[tuple[int, int]] = deque()
    fresh = 0
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            if cell == 2:
                frontier.append((r, c))
            elif cell == 1:
                fresh += 1
    rotten = {cell for cell in frontier}
    minutes = 0
    while frontier and fresh:
        minutes += 1
        for _ in range(len(frontier)):
            r, c = frontier.popleft()
            for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= nr < len(grid) and 0 <= nc < len(grid[nr]) and grid[nr][nc] == 1 \
                        and (nr, nc) not in rotten:
                    rotten.add((nr, nc))
                    fresh -= 1
                    frontier.append((nr, nc))
    return minutes if fresh == 0 else -1


class MovingAverage:
    """The average of the last ``size`` values seen (fewer at the start).

    ``next(value) -> float`` adds a value and returns the current average.
    Example: MovingAverage(3): next(1) == 1.0, next(10) == 5.5, next(3) == 14/3, next(5) == 6.0.

    Complexity: O(1) time per call, O(size) space — a bounded deque and a running sum: add the
    newcomer, subtract the value that falls out.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._window: deque[int] = deque()
        self._total = 0

    def next(self, value: int) -> float:
        self._window.append(value)
        self._total += value
        if len(self._window) > self.size:
            self._total -= self._window.popleft()
        return self._total / len(self._window)
