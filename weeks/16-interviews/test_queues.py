"""Queues and deques — each problem: examples, a property against a brute force, a scaling check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.scaling import assert_scales
from labs.week16_interviews import queues as sol

fuzz = settings(max_examples=40, deadline=None)


def check(got: object, want: object, call: str) -> None:
    assert got == want, f"{call}: expected {want!r}, got {got!r}"


# --------------------------------------------------------------------------- queue_from_stacks


def test_queue_from_stacks_examples() -> None:
    queue = sol.QueueFromStacks()
    check(queue.empty(), True, "a new queue: empty()")
    for method in (queue.pop, queue.peek):
        with pytest.raises(IndexError):
            method()
    queue.push(1)
    queue.push(2)
    check((queue.peek(), queue.pop()), (1, 1), "push 1, 2: (peek(), pop())")
    queue.push(3)
    check([queue.pop(), queue.pop()], [2, 3], "push 3: pop(), pop()")
    check(queue.empty(), True, "after popping everything: empty()")


@fuzz
@given(st.lists(st.one_of(st.integers(-9, 9), st.none()), max_size=30))
def test_queue_from_stacks_matches_brute_force(operations: list[int | None]) -> None:
    queue, model = sol.QueueFromStacks(), []
    for op in operations:  # an int pushes, None pops
        if op is not None:
            queue.push(op)
            model.append(op)
        elif model:
            check(queue.pop(), model.pop(0), f"after {operations}: pop()")
        check(queue.empty(), not model, f"after {operations}: empty()")
        if model:
            check(queue.peek(), model[0], f"after {operations}: peek()")


def test_queue_from_stacks_scales() -> None:
    def work(n: int):  # interleaved: moving everything back and forth per call is quadratic
        def run() -> None:
            queue = sol.QueueFromStacks()
            for i in range(n):
                queue.push(i)
                queue.push(i)
                queue.pop()
            while not queue.empty():
                queue.peek()
                queue.pop()

        return run

    assert_scales(work, 400, what="QueueFromStacks (amortised O(1) per call)")


# --------------------------------------------------------------------------- circular_queue


def test_circular_queue_examples() -> None:
    queue = sol.CircularQueue(3)
    check(
        (queue.is_empty(), queue.is_full(), len(queue)),
        (True, False, 0),
        "CircularQueue(3): (is_empty, is_full, len)",
    )
    check((queue.dequeue(), queue.front(), queue.rear()), (None, None, None), "empty: (dequeue, front, rear)")
    check(
        [queue.enqueue(v) for v in (1, 2, 3, 4)],
        [True, True, True, False],
        "enqueue 1, 2, 3, 4 into capacity 3 (the 4th must be refused)",
    )
    check(
        (queue.is_full(), len(queue), queue.front(), queue.rear()),
        (True, 3, 1, 3),
        "full: (is_full, len, front, rear)",
    )
    check(queue.dequeue(), 1, "dequeue()")
    check(queue.enqueue(4), True, "after a dequeue there is room: enqueue(4)")
    check((queue.front(), queue.rear(), len(queue)), (2, 4, 3), "wrapped around: (front, rear, len)")
    check([queue.dequeue() for _ in range(4)], [2, 3, 4, None], "dequeue four times")
    one = sol.CircularQueue(1)
    check(
        [one.enqueue(5), one.enqueue(6), one.dequeue(), one.enqueue(7), one.rear()],
        [True, False, 5, True, 7],
        "capacity 1: enqueue 5, enqueue 6, dequeue, enqueue 7, rear",
    )


@fuzz
@given(st.integers(1, 4), st.lists(st.one_of(st.integers(-9, 9), st.none()), max_size=30))
def test_circular_queue_matches_brute_force(capacity: int, operations: list[int | None]) -> None:
    queue, model = sol.CircularQueue(capacity), []
    for op in operations:  # an int enqueues, None dequeues
        if op is not None:
            check(
                queue.enqueue(op),
                len(model) < capacity,
                f"capacity {capacity}, after {operations}: enqueue({op})",
            )
            if len(model) < capacity:
                model.append(op)
        else:
            check(
                queue.dequeue(),
                model.pop(0) if model else None,
                f"capacity {capacity}, after {operations}: dequeue()",
            )
        check(
            (len(queue), queue.is_full(), queue.front(), queue.rear()),
            (len(model), len(model) == capacity, model[0] if model else None, model[-1] if model else None),
            f"capacity {capacity}, after {operations}: (len, is_full, front, rear)",
        )


def test_circular_queue_scales() -> None:
    def work(n: int):  # a queue as big as the input: shifting a list on every dequeue is quadratic
        def run() -> None:
            queue = sol.CircularQueue(n)
            for i in range(n):
                queue.enqueue(i)
            for i in range(n):
                queue.dequeue()
                queue.enqueue(i)

        return run

    assert_scales(work, 400, what="CircularQueue (O(1) per call)")


# --------------------------------------------------------------------------- sliding_window_max


def test_sliding_window_max_examples() -> None:
    for nums, k, want in [
        ([1, 3, -1, -3, 5, 3, 6, 7], 3, [3, 3, 5, 5, 6, 7]),
        ([1], 1, [1]),
        ([], 2, []),
        ([1, 2], 3, []),
        ([9, 8, 7], 2, [9, 8]),
        ([4, 4, 4], 2, [4, 4]),
        ([-2, -5], 1, [-2, -5]),
    ]:
        check(sol.sliding_window_max(nums, k), want, f"sliding_window_max({nums}, {k})")


@fuzz
@given(st.lists(st.integers(-9, 9), max_size=20), st.integers(1, 6))
def test_sliding_window_max_matches_brute_force(nums: list[int], k: int) -> None:
    want = [max(nums[i : i + k]) for i in range(len(nums) - k + 1)]
    check(sol.sliding_window_max(nums, k), want, f"sliding_window_max({nums}, {k})")


def test_sliding_window_max_scales() -> None:
    def work(n: int):  # windows of half the input: max() per window is quadratic
        nums = [(i * 7919) % 1000 for i in range(n)]
        return lambda: sol.sliding_window_max(nums, n // 2)

    assert_scales(work, 400, what="sliding_window_max")


# --------------------------------------------------------------------------- recent_counter


def test_recent_counter_examples() -> None:
    counter = sol.RecentCounter(3000)
    check([counter.ping(t) for t in (1, 100, 3001, 3002)], [1, 2, 3, 3], "ping 1, 100, 3001, 3002")
    same = sol.RecentCounter(10)
    check(
        [same.ping(t) for t in (5, 5, 15, 16)], [1, 2, 3, 2], "window 10: ping 5, 5, 15, 16 (inclusive edges)"
    )


@fuzz
@given(st.integers(0, 20), st.lists(st.integers(0, 8), max_size=25))
def test_recent_counter_matches_brute_force(window_ms: int, gaps: list[int]) -> None:
    counter, seen, t = sol.RecentCounter(window_ms), [], 0
    for gap in gaps:
        t += gap
        seen.append(t)
        want = sum(t - window_ms <= s <= t for s in seen)
        check(counter.ping(t), want, f"window {window_ms}, pings {seen}: the last ping")


def test_recent_counter_scales() -> None:
    def work(n: int):  # a window holding about half the pings: filtering a list per ping is quadratic
        def run() -> None:
            counter = sol.RecentCounter(n // 2)
            for t in range(n):
                counter.ping(t)

        return run

    assert_scales(work, 400, what="RecentCounter (amortised O(1) per ping)")


# --------------------------------------------------------------------------- first_unique


def test_first_unique_examples() -> None:
    stream = sol.FirstUnique()
    check(stream.first_unique(), None, "nothing added: first_unique()")
    answers = []
    for value in (2, 3, 5, 2, 3, 5, 7):
        stream.add(value)
        answers.append(stream.first_unique())
    check(answers, [2, 2, 2, 3, 5, None, 7], "add 2, 3, 5, 2, 3, 5, 7: first_unique() after each")


@fuzz
@given(st.lists(st.integers(-4, 4), max_size=25))
def test_first_unique_matches_brute_force(values: list[int]) -> None:
    stream = sol.FirstUnique()
    for i, value in enumerate(values):
        stream.add(value)
        seen = values[: i + 1]
        want = next((v for v in seen if seen.count(v) == 1), None)
        check(stream.first_unique(), want, f"after adding {seen}: first_unique()")


def test_first_unique_scales() -> None:
    def work(n: int):  # every value twice: rescanning from the start per call is quadratic
        def run() -> None:
            stream = sol.FirstUnique()
            for i in range(n):
                stream.add(i)
            for i in range(n):
                stream.add(i)
                stream.first_unique()

        return run

    assert_scales(work, 400, what="FirstUnique (amortised O(1) per call)")


# --------------------------------------------------------------------------- minutes_to_rot


def brute_rot(grid: list[list[int]]) -> int:
    grid = [list(row) for row in grid]
    minutes = 0
    while True:
        spread = [
            (r, c)
            for r, row in enumerate(grid)
            for c, cell in enumerate(row)
            if cell == 1
            and any(
                0 <= r + dr < len(grid) and 0 <= c + dc < len(row) and grid[r + dr][c + dc] == 2
                for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
            )
        ]
        if not spread:
            return -1 if any(1 in row for row in grid) else minutes
        for r, c in spread:
            grid[r][c] = 2
        minutes += 1


def test_minutes_to_rot_examples() -> None:
    for grid, want in [
        ([[2, 1, 1], [1, 1, 0], [0, 1, 1]], 4),
        ([[2, 1, 1], [0, 1, 1], [1, 0, 1]], -1),
        ([[0, 2]], 0),
        ([], 0),
        ([[1]], -1),
        ([[2]], 0),
        ([[0]], 0),
        ([[2, 1, 1, 1, 2]], 2),
    ]:
        check(sol.minutes_to_rot(grid), want, f"minutes_to_rot({grid})")


@fuzz
@given(
    st.integers(1, 4).flatmap(
        lambda w: st.lists(st.lists(st.integers(0, 2), min_size=w, max_size=w), max_size=4)
    )
)
def test_minutes_to_rot_matches_brute_force(grid: list[list[int]]) -> None:
    check(sol.minutes_to_rot(grid), brute_rot(grid), f"minutes_to_rot({grid})")


def test_minutes_to_rot_scales() -> None:
    def work(n: int):  # one long row: re-scanning the grid every minute is quadratic
        grid = [[2] + [1] * (n - 1)]
        return lambda: sol.minutes_to_rot(grid)

    assert_scales(work, 400, what="minutes_to_rot")


# --------------------------------------------------------------------------- moving_average


def test_moving_average_examples() -> None:
    average = sol.MovingAverage(3)
    check(
        [average.next(v) for v in (1, 10, 3, 5)],
        [1.0, 5.5, 14 / 3, 6.0],
        "MovingAverage(3): next 1, 10, 3, 5",
    )
    one = sol.MovingAverage(1)
    check([one.next(v) for v in (-4, 7)], [-4.0, 7.0], "MovingAverage(1): next -4, 7")


@fuzz
@given(st.integers(1, 5), st.lists(st.integers(-9, 9), max_size=20))
def test_moving_average_matches_brute_force(size: int, values: list[int]) -> None:
    average = sol.MovingAverage(size)
    for i, value in enumerate(values):
        last = values[max(0, i + 1 - size) : i + 1]
        check(average.next(value), sum(last) / len(last), f"MovingAverage({size}) after {values[: i + 1]}")


def test_moving_average_scales() -> None:
    def work(n: int):  # a window of half the stream: sum() of it per call is quadratic
        def run() -> None:
            average = sol.MovingAverage(n // 2)
            for i in range(n):
                average.next(i)

        return run

    assert_scales(work, 400, what="MovingAverage (O(1) per call)")
