"""A consistent-hash ring with virtual nodes: which cache node holds a key.

``hash(key) % N`` moves almost every key when N changes — a cache cluster that grows by one node
loses most of its hits at once. On a ring, a key belongs to the first node point clockwise from
the key's hash; a new node takes over only the arcs just before its points, so adding a node to
N moves about 1/(N+1) of the keys, all of them to the new node. Each node is placed at ``vnodes``
points (virtual nodes): with one point each, arcs — and loads — differ by several times.

The hash must be the same in every process: Python's ``hash()`` of a string is salted per
process (``PYTHONHASHSEED``), so two app servers would disagree about every key.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable


def hash64(text: str) -> int:
    """A stable 64-bit hash of ``text``: the same in every process, on every machine."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def modulo_node(key: str, nodes: list[str]) -> str:
    """The naive placement, for comparison: ``nodes[hash64(key) % len(nodes)]``."""
    if not nodes:
        raise LookupError("no nodes to place a key on")
    return nodes[hash64(key) % len(nodes)]


class HashRing:
    """Nodes placed on a 64-bit ring at ``vnodes`` points each; a key goes to the next point."""

    def __init__(self, nodes: Iterable[str] = (), *, vnodes: int = 100) -> None:
        if vnodes < 1:
            raise ValueError("vnodes must be at least 1")
        self.vnodes = vnodes
        self._points: list[int] = []  # sorted positions on the ring
        self._owners: list[str] = []  # _owners[i] holds the point _points[i]
        self._nodes: set[str] = set()
        for node in nodes:
            self.add(node)

    @property
    def nodes(self) -> list[str]:
        """The nodes on the ring, sorted."""
        return sorted(self._nodes)

    def add(self, node: str) -> None:
        """Place ``node`` at its ``vnodes`` points; adding a node twice changes nothing."""
        if node in self._nodes:
            return
        self._nodes.add(node)
        for replica in range(self.vnodes):
            point = hash64(f"{node}#{replica}")
            index = bisect.bisect_left(self._points, point)
            self._points.insert(index, point)
            self._owners.insert(index, node)

    def remove(self, node: str) -> None:
        """Take ``node``'s points off the ring: only its keys move, to their next points."""
        if node not in self._nodes:
            return
        self._nodes.discard(node)
        kept = [(p, o) for p, o in zip(self._points, self._owners, strict=True) if o != node]
        self._points = [p for p, _ in kept]
        self._owners = [o for _, o in kept]

    def node_for(self, key: str) -> str:
        """The owner of the first point at or after ``hash64(key)``, wrapping past the top."""
        if not self._points:
            raise LookupError("the ring is empty: add a node first")
        index = bisect.bisect_left(self._points, hash64(key))
        return self._owners[index % len(self._points)]
