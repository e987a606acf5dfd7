"""A small in-process TTL cache: the API key → tenant and app → quota lookups of the ingest path.

Ingestion must cost one auth lookup at most; with this cache a warm API key costs none. The price
is staleness bounded by ``ttl_s``: a key revoked through *another* API instance keeps working here
for at most ``ttl_s`` seconds (the instance that revokes it evicts it at once). Five seconds is
the budget chosen for the anchor, in exchange for a PostgreSQL round trip saved per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """``get``/``put``/``evict`` with an expiry; bounded by clearing when full (simple, O(1))."""

    def __init__(self, *, ttl_s: float, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        return value

    def put(self, key: str, value: V) -> None:
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[key] = (self._clock() + self._ttl_s, value)

    def evict(self, key: str) -> None:
        self._entries.pop(key, None)

    def evict_where(self, predicate: Callable[[str], bool]) -> None:
        for key in [key for key in self._entries if predicate(key)]:
            del self._entries[key]
