"""Linked lists — each problem: examples, a property against a brute force, a scaling check."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from course.scaling import assert_scales
from labs.week16_interviews import linked_lists as sol
from labs.week16_interviews.linked_lists import from_values, to_values

fuzz = settings(max_examples=40, deadline=None)
values = st.lists(st.integers(-9, 9), max_size=20)


def check(got: object, want: object, call: str) -> None:
    assert got == want, f"{call}: expected {want!r}, got {got!r}"


def nodes(head: sol.ListNode | None) -> list[int]:
    """Identities of a list's nodes, to check that a function rewired them rather than copying."""
    out = []
    while head is not None and len(out) < 10**6:
        out.append(id(head))
        head = head.next
    return out


# --------------------------------------------------------------------------- reverse_list


def test_reverse_list_examples() -> None:
    for items in ([1, 2, 3], [], [7], [1, 2], [5, 5, -1]):
        head = from_values(items)
        before = nodes(head)
        got = sol.reverse_list(head)
        check(to_values(got), items[::-1], f"reverse_list({items})")
        check(nodes(got), before[::-1], f"reverse_list({items}) must reuse the nodes; node identities")


@fuzz
@given(values)
def test_reverse_list_matches_brute_force(items: list[int]) -> None:
    check(to_values(sol.reverse_list(from_values(items))), items[::-1], f"reverse_list({items})")


def test_reverse_list_scales() -> None:
    def work(n: int):
        head = [from_values(range(n))]

        def run() -> None:
            head[0] = sol.reverse_list(head[0])

        return run

    assert_scales(work, 400, what="reverse_list")


# --------------------------------------------------------------------------- merge_two_sorted


def test_merge_two_sorted_examples() -> None:
    for a, b, want in [
        ([1, 2, 4], [1, 3, 4], [1, 1, 2, 3, 4, 4]),
        ([], [], []),
        ([], [0], [0]),
        ([5], [], [5]),
        ([1, 1], [1], [1, 1, 1]),
        ([-3, 10], [-5, 0, 20], [-5, -3, 0, 10, 20]),
    ]:
        check(
            to_values(sol.merge_two_sorted(from_values(a), from_values(b))),
            want,
            f"merge_two_sorted({a}, {b})",
        )


@fuzz
@given(values, values)
def test_merge_two_sorted_matches_brute_force(a: list[int], b: list[int]) -> None:
    a, b = sorted(a), sorted(b)
    left, right = from_values(a), from_values(b)
    ids = set(nodes(left)) | set(nodes(right))
    got = sol.merge_two_sorted(left, right)
    check(to_values(got), sorted(a + b), f"merge_two_sorted({a}, {b})")
    check(set(nodes(got)), ids, f"merge_two_sorted({a}, {b}) must reuse the nodes; node identities")


def test_merge_two_sorted_scales() -> None:
    def work(n: int):
        a, b = list(range(0, n, 2)), list(range(1, n, 2))
        return lambda: sol.merge_two_sorted(from_values(a), from_values(b))

    assert_scales(work, 400, what="merge_two_sorted")


# --------------------------------------------------------------------------- has_cycle


def with_cycle(items: list[int], back_to: int | None) -> sol.ListNode | None:
    head = from_values(items)
    if head is not None and back_to is not None:
        all_nodes, node = [], head
        while node is not None:
            all_nodes.append(node)
            node = node.next
        all_nodes[-1].next = all_nodes[back_to % len(all_nodes)]
    return head


def test_has_cycle_examples() -> None:
    for items, back_to, want in [
        ([3, 2, 0, -4], 1, True),
        ([1, 2], 0, True),
        ([1], None, False),
        ([], None, False),
        ([1], 0, True),
        ([1, 2, 3], None, False),
        ([1, 1, 1], 2, True),
    ]:
        check(sol.has_cycle(with_cycle(items, back_to)), want, f"has_cycle({items}, tail → index {back_to})")


@fuzz
@given(values, st.one_of(st.none(), st.integers(0, 30)))
def test_has_cycle_matches_brute_force(items: list[int], back_to: int | None) -> None:
    want = bool(items) and back_to is not None
    check(sol.has_cycle(with_cycle(items, back_to)), want, f"has_cycle({items}, tail → index {back_to})")


def test_has_cycle_scales() -> None:
    def work(n: int):  # a cycle back to the start: a list of visited nodes searched per step is quadratic
        head = with_cycle(list(range(n)), 0)
        return lambda: sol.has_cycle(head)

    assert_scales(work, 400, what="has_cycle")


# --------------------------------------------------------------------------- middle_node


def test_middle_node_examples() -> None:
    for items, want in [
        ([1, 2, 3, 4, 5], [3, 4, 5]),
        ([1, 2, 3, 4, 5, 6], [4, 5, 6]),
        ([], []),
        ([1], [1]),
        ([1, 2], [2]),
    ]:
        check(
            to_values(sol.middle_node(from_values(items))), want, f"middle_node({items}) (the rest from it)"
        )


@fuzz
@given(values)
def test_middle_node_matches_brute_force(items: list[int]) -> None:
    head = from_values(items)
    got = sol.middle_node(head)
    want = nodes(head)[len(items) // 2] if items else None
    check(id(got) if got is not None else None, want, f"middle_node({items}): node identity")


def test_middle_node_scales() -> None:
    def work(n: int):
        head = from_values(range(n))
        return lambda: sol.middle_node(head)

    assert_scales(work, 400, what="middle_node")


# --------------------------------------------------------------------------- remove_nth_from_end


def test_remove_nth_from_end_examples() -> None:
    for items, n, want in [
        ([1, 2, 3, 4, 5], 2, [1, 2, 3, 5]),
        ([1], 1, []),
        ([1, 2], 1, [1]),
        ([1, 2], 2, [2]),
        ([7, 7, 7], 3, [7, 7]),
    ]:
        check(
            to_values(sol.remove_nth_from_end(from_values(items), n)),
            want,
            f"remove_nth_from_end({items}, {n})",
        )


@fuzz
@given(st.lists(st.integers(-9, 9), min_size=1, max_size=20), st.integers(1, 20))
def test_remove_nth_from_end_matches_brute_force(items: list[int], n: int) -> None:
    n = (n - 1) % len(items) + 1
    want = items[: len(items) - n] + items[len(items) - n + 1 :]
    check(
        to_values(sol.remove_nth_from_end(from_values(items), n)), want, f"remove_nth_from_end({items}, {n})"
    )


def test_remove_nth_from_end_scales() -> None:
    def work(n: int):
        items = list(range(n))
        return lambda: sol.remove_nth_from_end(from_values(items), n // 2)

    assert_scales(work, 400, what="remove_nth_from_end")


# --------------------------------------------------------------------------- add_two_numbers


def as_int(digits: list[int]) -> int:
    return int("".join(map(str, reversed(digits)))) if digits else 0


def digits_of(number: int) -> list[int]:
    return [int(d) for d in reversed(str(number))]


def test_add_two_numbers_examples() -> None:
    for a, b, want in [
        ([2, 4, 3], [5, 6, 4], [7, 0, 8]),
        ([0], [0], [0]),
        ([9, 9, 9, 9], [9, 9], [8, 9, 0, 0, 1]),
        ([5], [5], [0, 1]),
        ([1], [9, 9], [0, 0, 1]),
    ]:
        check(
            to_values(sol.add_two_numbers(from_values(a), from_values(b))), want, f"add_two_numbers({a}, {b})"
        )


@fuzz
@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_add_two_numbers_matches_brute_force(x: int, y: int) -> None:
    a, b = digits_of(x), digits_of(y)
    check(
        to_values(sol.add_two_numbers(from_values(a), from_values(b))),
        digits_of(x + y),
        f"add_two_numbers({a}, {b})",
    )


def test_add_two_numbers_scales() -> None:
    def work(n: int):
        a, b = from_values([9] * n), from_values([1])
        return lambda: sol.add_two_numbers(a, b)

    assert_scales(work, 400, what="add_two_numbers")


# --------------------------------------------------------------------------- lru_cache


def test_lru_cache_examples() -> None:
    cache = sol.LRUCache(2)
    cache.put(1, 1)
    cache.put(2, 2)
    check(cache.get(1), 1, "put 1, put 2: get(1)")
    cache.put(3, 3)
    check(cache.get(2), None, "get(1) made 2 the least recent; put 3 must evict it: get(2)")
    cache.put(4, 4)
    check([cache.get(1), cache.get(3), cache.get(4)], [None, 3, 4], "put 4 evicts 1: get 1, 3, 4")
    cache.put(3, 30)
    cache.put(5, 5)
    check([cache.get(3), cache.get(4), cache.get(5)], [30, None, 5], "update 3, put 5 evicts 4: get 3, 4, 5")
    one = sol.LRUCache(1)
    one.put(1, 1)
    one.put(2, 2)
    check([one.get(1), one.get(2)], [None, 2], "capacity 1: put 1, put 2, get 1, get 2")


@fuzz
@given(
    st.integers(1, 3),
    st.lists(st.tuples(st.integers(0, 4), st.one_of(st.none(), st.integers(0, 9))), max_size=30),
)
def test_lru_cache_matches_brute_force(capacity: int, operations: list[tuple[int, int | None]]) -> None:
    cache, model = sol.LRUCache(capacity), []  # model: (key, value), least recent first
    for key, value in operations:  # value None: get(key)
        found = next((i for i, (k, _) in enumerate(model) if k == key), None)
        if value is None:
            check(
                cache.get(key),
                model[found][1] if found is not None else None,
                f"capacity {capacity}, after {operations}: get({key})",
            )
            if found is not None:
                model.append(model.pop(found))
        else:
            cache.put(key, value)
            if found is not None:
                model.pop(found)
            model.append((key, value))
            if len(model) > capacity:
                model.pop(0)


def test_lru_cache_scales() -> None:
    def work(n: int):  # a cache as big as the input: a recency list searched per call is quadratic
        def run() -> None:
            cache = sol.LRUCache(n // 2)
            for i in range(n):
                cache.put(i, i)
                cache.get(i // 2)

        return run

    assert_scales(work, 400, what="LRUCache (O(1) per call)")
