"""Linked lists: pointers you rewire in place — dummy heads, slow and fast runners, no indexing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LESSON = "see weeks/16-interviews/README.md, section 'Linked lists'"


@dataclass(eq=False)
class ListNode:
    """One node of a singly linked list (given: you do not need to change it)."""

    val: int
    next: ListNode | None = None


def from_values(values: Iterable[int]) -> ListNode | None:
    """A linked list holding ``values`` in order (given)."""
    head: ListNode | None = None
    for value in reversed(list(values)):
        head = ListNode(value, head)
    return head


def to_values(head: ListNode | None, limit: int = 10**7) -> list[int]:
    """The values of a linked list in order (given); stops after ``limit`` nodes (a cycle)."""
    values = []
    while head is not None and len(values) < limit:
        values.append(head.val)
        head = head.next
    return values


def reverse_list(head: ListNode | None) -> ListNode | None:
    """Reverse a linked list by rewiring its nodes; return the new head.

    Constraints: up to 10^5 nodes; reuse the nodes, do not create new ones.
    Example: 1 → 2 → 3 becomes 3 → 2 → 1.
    """
    raise NotImplementedError(LESSON)


def merge_two_sorted(a: ListNode | None, b: ListNode | None) -> ListNode | None:
    """Merge two sorted linked lists into one sorted list made of their nodes.

    On equal values, nodes of ``a`` come first. Constraints: up to 10^5 nodes each.
    Example: 1 → 2 → 4 and 1 → 3 → 4 give 1 → 1 → 2 → 3 → 4 → 4.
    """
    raise NotImplementedError(LESSON)


def has_cycle(head: ListNode | None) -> bool:
    """True if following ``next`` from ``head`` ever comes back to a node already visited.

    Constraints: up to 10^5 nodes; O(1) extra memory is possible (and expected in interviews).
    Example: 1 → 2 → 3 → (back to 2) has a cycle.
    """
    raise NotImplementedError(LESSON)


def middle_node(head: ListNode | None) -> ListNode | None:
    """The middle node; of two middles (an even length), the second. None for an empty list.

    Constraints: up to 10^5 nodes; one pass.
    Example: 1 → 2 → 3 → 4 gives the node 3.
    """
    raise NotImplementedError(LESSON)


def remove_nth_from_end(head: ListNode | None, n: int) -> ListNode | None:
    """Remove the ``n``-th node from the end (n = 1 is the last) and return the head.

    Constraints: 1 <= n <= length, up to 10^5 nodes; one pass.
    Example: 1 → 2 → 3 → 4 → 5 with n = 2 gives 1 → 2 → 3 → 5.
    """
    raise NotImplementedError(LESSON)


def add_two_numbers(a: ListNode | None, b: ListNode | None) -> ListNode | None:
    """Add two non-negative numbers stored as digit lists, least significant digit first.

    2 → 4 → 3 is 342. Return the sum the same way. Constraints: up to 10^5 digits each — do not
    convert to int (that is quadratic for huge numbers in many languages, and not the question).
    Example: (2 → 4 → 3) + (5 → 6 → 4) = 7 → 0 → 8 (342 + 465 = 807).
    """
    raise NotImplementedError(LESSON)


class LRUCache:
    """A key-value cache of ``capacity`` entries that evicts the least recently used one.

    ``get(key) -> int | None`` (None on a miss; a hit makes the key most recent),
    ``put(key, value)`` (inserts or updates, making it most recent; evicts the least recent when
    over capacity). Both O(1). Constraints: capacity >= 1.
    Example: LRUCache(2): put(1, 1), put(2, 2), get(1) == 1, put(3, 3) evicts 2, get(2) is None.
    """

    def __init__(self, capacity: int) -> None:
        raise NotImplementedError(LESSON)

    def get(self, key: int) -> int | None:
        raise NotImplementedError(LESSON)

    def put(self, key: int, value: int) -> None:
        raise NotImplementedError(LESSON)
