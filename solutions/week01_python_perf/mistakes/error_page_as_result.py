"""Mistake: responses are read without checking their status, so error pages become results."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

import httpx

T = TypeVar("T")
R = TypeVar("R")

TIMEOUT_S = 10.0


# --------------------------------------------------------------------------- I/O-bound


def fetch_all_sync(urls: Sequence[str]) -> list[str]:
    """GET every URL, one after another; return the response bodies in the order of ``urls``."""
    # One client for all requests: it keeps the TCP connection alive between them.
    with httpx.Client(timeout=TIMEOUT_S) as client:
        return [_body(client.get(url)) for url in urls]


def fetch_all_threads(urls: Sequence[str], workers: int = 32) -> list[str]:
    """GET the URLs from a pool of ``workers`` threads; bodies in the order of ``urls``.

    While one thread waits for its response it has released the GIL, so the others send theirs:
    up to ``workers`` requests are in flight at once.
    """
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    # httpx.Client is thread-safe: the threads share its connection pool.
    with (httpx.Client(timeout=TIMEOUT_S, limits=limits) as client,
          ThreadPoolExecutor(max_workers=workers) as pool):
        return list(pool.map(lambda url: _body(client.get(url)), urls))


async def fetch_all_async(urls: Sequence[str], limit: int = 100) -> list[str]:
    """GET the URLs concurrently on one event loop, at most ``limit`` in flight; bodies in order."""
    gate = asyncio.Semaphore(limit)  # the downstream decides what "too many" is, not our loop
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)

    async with httpx.AsyncClient(timeout=TIMEOUT_S, limits=limits) as client:

        async def fetch(url: str) -> str:
            async with gate:
                return _body(await client.get(url))

        # gather starts every coroutine now and returns results in argument order.
        return list(await asyncio.gather(*(fetch(url) for url in urls)))


def _body(response: httpx.Response) -> str:
    return response.text  # MISTAKE: a 404 or 500 page comes back as if it were the result


# --------------------------------------------------------------------------- CPU-bound


def run_serial(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``fn`` over ``items`` in this thread: the baseline every other model is measured against."""
    return [fn(item) for item in items]


def run_threads(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``fn`` over ``items`` on ``workers`` threads of this process; results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def run_processes(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``fn`` over ``items`` in ``workers`` worker processes; results in order.

    ``fn``, every item and every result cross a process boundary, so they must be picklable:
    a module-level function works, a lambda or a nested function does not.
    """
    items = list(items)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # Ship items in a few batches rather than one round trip per item.
        chunksize = max(1, len(items) // (workers * 4))
        return list(pool.map(fn, items, chunksize=chunksize))
