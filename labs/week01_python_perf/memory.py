"""Memory you can measure: slotted records, a streaming pipeline, and a cache that cannot leak.

A log file can be bigger than the memory you want to spend on it. Process it so that peak
memory stays flat whether the file has a thousand lines or a billion.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from os import PathLike
from typing import Generic, TypeVar

README = "weeks/01-python-perf/README.md"
MEMORY = f"{README}, section 'Memory you can measure: slotted records and generators'"
LIFECYCLE = f"{README}, section 'Object lifecycle: refcounts, cycles, weak references'"


@dataclass(frozen=True)
class LogRecord:
    """One access-log line.

    TODO: millions of these may be alive at once. Make instances slotted (no per-instance
    ``__dict__``), keeping these field names and their order. See
    weeks/01-python-perf/README.md, section 'Memory you can measure: slotted records and generators'.
    """

    timestamp: str
    client: str
    method: str
    path: str
    status: int
    duration_ms: int


@dataclass(frozen=True)
class Summary:
    """What :func:`summarise` returns (given: you do not need to change it)."""

    requests: int
    errors: int  # responses with status ≥ 500
    total_ms: int  # sum of duration_ms (an int, so two correct implementations agree exactly)
    slowest: tuple[LogRecord, ...]  # the k slowest requests, slowest first; ties: earlier line first

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.requests if self.requests else 0.0


def parse_record(line: str) -> LogRecord:
    """``"2026-03-02T14:05:09Z 10.0.12.7 GET /api/orders/4821 200 37"`` → a :class:`LogRecord`.

    ``status`` and ``duration_ms`` are ints. A line without six fields raises ``ValueError``.
    """
    raise NotImplementedError(f"parse_record: see {MEMORY}")


def read_records(path: str | PathLike[str]) -> Iterator[LogRecord]:
    """Yield the records of a log file lazily, holding one line at a time; skip blank lines."""
    raise NotImplementedError(f"read_records: see {MEMORY}")


def summarise(records: Iterable[LogRecord], k: int = 10) -> Summary:
    """One pass over ``records`` in memory that does not grow with their number."""
    raise NotImplementedError(f"summarise: see {MEMORY}")


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class WeakCache(Generic[K, V]):
    """One shared object per key for as long as someone uses it — and not a moment longer.

    ``get(key)`` returns the live object for ``key`` or calls ``load(key)`` to make one. The
    cache must not keep values alive: once nobody else holds a value, it is freed and its entry
    disappears (``len(cache)`` counts live entries only). Threads that miss the same key at the
    same time share one ``load``: check and store under one lock.
    """

    def __init__(self, load: Callable[[K], V]) -> None:
        self._load = load

    def get(self, key: K) -> V:
        """The live object for ``key``, loading (and caching) it if there is none."""
        raise NotImplementedError(f"WeakCache.get: see {LIFECYCLE}")

    def __len__(self) -> int:
        """How many values are still alive (and so still cached)."""
        raise NotImplementedError(f"WeakCache.__len__: see {LIFECYCLE}")
