"""Mistake: the weak cache checks and loads without a lock, so threads missing together each load."""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from os import PathLike
from typing import Generic, TypeVar


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One access-log line. Slotted: millions of these may be alive, and a per-instance
    ``__dict__`` would cost more than the fields themselves."""

    timestamp: str
    client: str
    method: str
    path: str
    status: int
    duration_ms: int


@dataclass(frozen=True)
class Summary:
    requests: int
    errors: int  # responses with status ≥ 500
    total_ms: int  # sum of duration_ms (an int, so two correct implementations agree exactly)
    slowest: tuple[LogRecord, ...]  # the k slowest requests, slowest first; ties: earlier line first

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.requests if self.requests else 0.0


def parse_record(line: str) -> LogRecord:
    """``"2026-03-02T14:05:09Z 10.0.12.7 GET /api/orders/4821 200 37"`` → a :class:`LogRecord`."""
    timestamp, client, method, path, status, duration = line.split()
    return LogRecord(timestamp, client, method, path, int(status), int(duration))


def read_records(path: str | PathLike[str]) -> Iterator[LogRecord]:
    """Yield the records of a log file one at a time, never holding more than one line."""
    with open(path, encoding="utf-8") as log:
        for line in log:  # a file object is itself a lazy iterator over lines
            if line.strip():
                yield parse_record(line)


def summarise(records: Iterable[LogRecord], k: int = 10) -> Summary:
    """One pass over ``records`` in O(k) memory: counts, total duration, the ``k`` slowest."""
    requests = errors = total_ms = 0
    # A min-heap of the k slowest so far; its root is the one a slower record evicts. Keys are
    # (duration, -line number): unique, so records are never compared, and among equal
    # durations the later line ranks lower.
    slowest: list[tuple[int, int, LogRecord]] = []
    for index, record in enumerate(records):
        requests += 1
        total_ms += record.duration_ms
        errors += record.status >= 500
        entry = (record.duration_ms, -index, record)
        if len(slowest) < k:
            heapq.heappush(slowest, entry)
        else:
            heapq.heappushpop(slowest, entry)
    ranked = sorted(slowest, reverse=True)
    return Summary(requests, errors, total_ms, tuple(record for *_, record in ranked))


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class WeakCache(Generic[K, V]):
    """One shared object per key for as long as someone uses it — and not a moment longer.

    A plain dict cache keeps every value alive forever (a leak with a nicer name). Here the
    cache holds only weak references: when the last strong reference elsewhere goes, the value
    is freed and its entry disappears with it.
    """

    def __init__(self, load: Callable[[K], V]) -> None:
        self._load = load
        self._values: weakref.WeakValueDictionary[K, V] = weakref.WeakValueDictionary()

    def get(self, key: K) -> V:
        """The live object for ``key``, loading (and caching) it if there is none."""
        # MISTAKE: check, then load, with nothing in between: threads that miss together all load.
        value = self._values.get(key)
        if value is None:
            value = self._load(key)
            self._values[key] = value
        return value

    def __len__(self) -> int:
        """How many values are still alive (and so still cached)."""
        return len(self._values)
