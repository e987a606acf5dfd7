"""A consistent-hash ring with virtual nodes: which cache node holds a key.

Your task: implement :class:`HashRing` (``hash64`` and ``modulo_node`` are given):

* ``node_for(key)`` is the owner of the first point at or after ``hash64(key)`` on the ring,
  wrapping past the top; an empty ring raises ``LookupError``;
* each node sits at ``vnodes`` points (hash64 of a name derived from the node and the replica);
* adding a node to N moves about 1/(N+1) of 100,000 keys, every moved key to the new node;
  removing one moves only its keys;
* with ``vnodes=100``, 5 nodes and 20,000 keys, the busiest node holds on average at most 1.2x
  the mean (averaged over 10 clusters); with ``vnodes=1`` at least 1.6x — visibly worse;
* the mapping is the same in every process (no built-in ``hash()``).

``hash(key) % N`` moves almost every key when N changes — a cache cluster that grows by one node
loses most of its hits at once. On a ring, a key belongs to the first node point clockwise from
the key's hash; a new node takes over only the arcs just before its points, so adding a node to
N moves about 1/(N+1) of the keys, all of them to the new node. Each node is placed at ``vnodes``
points (virtual nodes): with one point each, arcs — and loads — differ by several times.

The hash must be the same in every process: Python's ``hash()`` of a string is salted per
process (``PYTHONHASHSEED``), so two app servers would disagree about every key.
"""

from __future__ import annotations

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


SECTION = "see weeks/09-scaling/README.md, section 'Consistent hashing'"


class HashRing:
    """Nodes placed on a 64-bit ring at ``vnodes`` points each; a key goes to the next point."""

    def __init__(self, nodes: Iterable[str] = (), *, vnodes: int = 100) -> None:
        if vnodes < 1:
            raise ValueError("vnodes must be at least 1")
        self.vnodes = vnodes
        for node in nodes:
            self.add(node)

    @property
    def nodes(self) -> list[str]:
        """The nodes on the ring, sorted."""
        raise NotImplementedError(f"HashRing.nodes — {SECTION}")

    def add(self, node: str) -> None:
        """Place ``node`` at its ``vnodes`` points; adding a node twice changes nothing."""
        raise NotImplementedError(f"HashRing.add — {SECTION}")

    def remove(self, node: str) -> None:
        """Take ``node``'s points off the ring: only its keys move, to their next points."""
        raise NotImplementedError(f"HashRing.remove — {SECTION}")

    def node_for(self, key: str) -> str:
        """The owner of the first point at or after ``hash64(key)``, wrapping past the top."""
        raise NotImplementedError(f"HashRing.node_for — {SECTION}")
