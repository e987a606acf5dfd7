"""The same work run four ways: one at a time, on threads, on an event loop, in processes.

Write each runner so that the tests in ``weeks/01-python-perf/test_concurrency.py`` can measure
them against each other. The I/O runners call the given slow HTTP server (``slow_server.py``);
use ``httpx`` (``httpx.Client`` for sync and threads, ``httpx.AsyncClient`` for asyncio).
The CPU runners take any picklable function, e.g. ``workloads.cpu_task``.

Every runner returns results in the order of its input, whatever order the work finished in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

README = "weeks/01-python-perf/README.md"


# --------------------------------------------------------------------------- I/O-bound


def fetch_all_sync(urls: Sequence[str]) -> list[str]:
    """GET every URL one after another; return the response bodies (text) in the order of ``urls``.

    This is the baseline: one request in flight at a time. Raise on an HTTP error status.
    """
    raise NotImplementedError(f"fetch_all_sync: see {README}, section 'I/O-bound or CPU-bound?'")


def fetch_all_threads(urls: Sequence[str], workers: int = 32) -> list[str]:
    """GET the URLs from a pool of ``workers`` threads; return the bodies in the order of ``urls``.

    Up to ``workers`` requests must be in flight at the same time.
    """
    raise NotImplementedError(f"fetch_all_threads: see {README}, section 'Threads: waiting in parallel'")


async def fetch_all_async(urls: Sequence[str], limit: int = 100) -> list[str]:
    """GET the URLs concurrently on one event loop; return the bodies in the order of ``urls``.

    Never more than ``limit`` requests in flight at once: the downstream has limits too.
    """
    raise NotImplementedError(f"fetch_all_async: see {README}, section 'asyncio: one thread, many waits'")


# --------------------------------------------------------------------------- CPU-bound


def run_serial(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``fn`` over ``items`` in this thread, one after another: the baseline."""
    raise NotImplementedError(f"run_serial: see {README}, section 'Processes and the GIL'")


def run_threads(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``fn`` over ``items`` on ``workers`` threads of this process; results in input order."""
    raise NotImplementedError(f"run_threads: see {README}, section 'Processes and the GIL'")


def run_processes(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``fn`` over ``items`` in ``workers`` worker processes; results in input order.

    ``fn``, the items and the results cross a process boundary, so they must be picklable.
    """
    raise NotImplementedError(f"run_processes: see {README}, section 'Processes and the GIL'")
