"""Linked lists: pointers you rewire in place — dummy heads, slow and fast runners, no indexing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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

    Complexity: O(n) time, O(1) space — walk once, pointing each node back at the previous one.
    """
    previous = None
    while head is not None:
        head.next, previous, head = previous, head, head.next
    return previous


def merge_two_sorted(a: ListNode | None, b: ListNode | None) -> ListNode | None:
    """Merge two sorted linked lists into one sorted list made of their nodes.

    On equal values, nodes of ``a`` come first. Constraints: up to 10^5 nodes each.
    Example: 1 → 2 → 4 and 1 → 3 → 4 give 1 → 1 → 2 → 3 → 4 → 4.

    Complexity: O(n + m) time, O(1) space — a dummy head, then always take the smaller front.
    """
    dummy = tail = ListNode(0)
    while a is not None and b is not None:
        if b.val < a.val:
            tail.next, b = b, b.next
        else:
            tail.next, a = a, a.next
        tail = tail.next
    tail.next = a if a is not None else b
    return dummy.next


def has_cycle(head: ListNode | None) -> bool:
    """True if following ``next`` from ``head`` ever comes back to a node already visited.

    Constraints: up to 10^5 nodes; O(1) extra memory is possible (and expected in interviews).
    Example: 1 → 2 → 3 → (back to 2) has a cycle.

    Complexity: O(n) time, O(1) space — Floyd: a fast runner (two steps) meets the slow one
    (one step) only inside a cycle.
    """
    slow = fast = head
    while fast is not None and fast.next is not None:
        slow, fast = slow.next, fast.next.next  # type: ignore[union-attr]
        if slow is fast:
            return True
    return False


def middle_node(head: ListNode | None) -> ListNode | None:
    """The middle node; of two middles (an even length), the second. None for an empty list.

    Constraints: up to 10^5 nodes; one pass.
    Example: 1 → 2 → 3 → 4 gives the node 3.

    Complexity: O(n) time, O(1) space — when the fast runner reaches the end, the slow one is in
    the middle.
    """
    slow = fast = head
    while fast is not None and fast.next is not None:
        slow, fast = slow.next, fast.next.next  # type: ignore[union-attr]
    return slow


def remove_nth_from_end(head: ListNode | None, n: int) -> ListNode | None:
    """Remove the ``n``-th node from the end (n = 1 is the last) and return the head.

    Constraints: 1 <= n <= length, up to 10^5 nodes; one pass.
    Example: 1 → 2 → 3 → 4 → 5 with n = 2 gives 1 → 2 → 3 → 5.

    Complexity: O(length) time, O(1) space — a lead pointer n steps ahead of a trailing one, both
    starting at a dummy head so removing the first node is no special case.
    """
    dummy = ListNode(0, head)
    lead: ListNode | None = dummy
    for _ in range(n):
        lead = lead.next  # type: ignore[union-attr]
    trail = dummy
    while lead is not None and lead.next is not None:
        lead, trail = lead.next, trail.next  # type: ignore[assignment]
    trail.next = trail.next.next  # type: ignore[union-attr]
    return dummy.next


def add_two_numbers(a: ListNode | None, b: ListNode | None) -> ListNode | None:
    """Add two non-negative numbers stored as digit lists, least significant digit first.

    2 → 4 → 3 is 342. Return the sum the same way. Constraints: up to 10^5 digits each — do not
    convert to int (that is quadratic for huge numbers in many languages, and not the question).
    Example: (2 → 4 → 3) + (5 → 6 → 4) = 7 → 0 → 8 (342 + 465 = 807).

    Complexity: O(max(n, m)) time, O(1) extra space besides the output — add digit by digit with
    a carry.
    """
    dummy = tail = ListNode(0)
    carry = 0
    while a is not None or b is not None or carry:
        total = carry + (a.val if a else 0) + (b.val if b else 0)
        carry, digit = divmod(total, 10)
        tail.next = ListNode(digit)
        tail = tail.next
        a = a.next if a else None
        b = b.next if b else None
    return dummy.next


class LRUCache:
    """A key-value cache of ``capacity`` entries that evicts the least recently used one.

    ``get(key) -> int | None`` (None on a miss; a hit makes the key most recent),
    ``put(key, value)`` (inserts or updates, making it most recent; evicts the least recent when
    over capacity). Both O(1). Constraints: capacity >= 1.
    Example: LRUCache(2): put(1, 1), put(2, 2), get(1) == 1, put(3, 3) evicts 2, get(2) is None.

    Complexity: O(1) time per operation, O(capacity) space — a dict from key to node of a doubly
    linked list ordered by use: move to the front on use, evict from the back.
    """

    @dataclass(eq=False)
    class _Node:
        key: int
        value: int
        prev: LRUCache._Node | None = None
        next: LRUCache._Node | None = None

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._nodes: dict[int, LRUCache._Node] = {}
        self._head = LRUCache._Node(0, 0)  # most recent after it
        self._tail = LRUCache._Node(0, 0)  # least recent before it
        self._head.next, self._tail.prev = self._tail, self._head

    def _unlink(self, node: LRUCache._Node) -> None:
        node.prev.next, node.next.prev = node.next, node.prev  # type: ignore[union-attr]

    def _push_front(self, node: LRUCache._Node) -> None:
        node.prev, node.next = self._head, self._head.next
        self._head.next.prev = node  # type: ignore[union-attr]
        self._head.next = node

    def get(self, key: int) -> int | None:
        node = self._nodes.get(key)
        if node is None:
            return None
        self._unlink(node)
        self._push_front(node)
        return node.value

    def put(self, key: int, value: int) -> None:
        node = self._nodes.get(key)
        if node is not None:
            node.value = value
            self._unlink(node)
        else:
            node = self._nodes[key] = LRUCache._Node(key, value)
            if len(self._nodes) > self.capacity:
                oldest = self._tail.prev
                assert oldest is not None
                self._unlink(oldest)
                del self._nodes[oldest.key]
        self._push_front(node)
