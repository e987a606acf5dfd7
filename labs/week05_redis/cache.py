"""Cache-aside with a jittered TTL and stampede protection.

Your task: implement :class:`Cache`.

* ``get_or_load`` — read ``key_for(key)``; on a miss, load and store the JSON value with a TTL;
* every write's TTL is drawn from ``ttl × [1 - jitter, 1 + jitter]`` (``ttl_ms``);
* when many callers miss the same key at once, exactly one (the holder of a
  :class:`~.lock.RedisLock` on the key) runs the loader; the others wait and get its value;
* a loader that raises must not leave a lock behind.

Read weeks/05-redis/README.md, sections 'Cache-aside', 'TTL strategies' and 'Stampedes'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from .lock import RedisLock  # noqa: F401 — you will need it for stampede protection

SECTION = "see weeks/05-redis/README.md, section"


class Cache:
    """JSON values cached under ``{namespace}:{key}`` for ``ttl`` seconds, ±``jitter`` (a fraction)."""

    def __init__(self, client: redis.Redis, *, namespace: str = "cache", ttl: float = 300.0,
                 jitter: float = 0.1, lock_ttl: float = 10.0, wait_timeout: float = 10.0,
                 poll_interval: float = 0.01) -> None:
        if not 0 <= jitter < 1:
            raise ValueError("jitter is a fraction of the TTL, in [0, 1)")
        self.client = client
        self.namespace = namespace
        self.ttl = ttl
        self.jitter = jitter
        self.lock_ttl = lock_ttl  # how long a loader may hold the per-key lock
        self.wait_timeout = wait_timeout  # how long a waiter polls before loading by itself
        self.poll_interval = poll_interval

    def key_for(self, key: str) -> str:
        """The Redis key that holds ``key``'s cached value."""
        return f"{self.namespace}:{key}"

    def ttl_ms(self) -> int:
        """A TTL drawn uniformly from ``ttl × [1 - jitter, 1 + jitter]``, in milliseconds."""
        raise NotImplementedError(f"Cache.ttl_ms — {SECTION} 'TTL strategies'")

    def get_or_load(self, key: str, loader: Callable[[], Any]) -> Any:
        """The cached value for ``key``; on a miss exactly one caller runs ``loader``.

        Waiters poll the cache every ``poll_interval`` seconds; past ``wait_timeout`` they call
        ``loader`` themselves rather than fail the request.
        """
        raise NotImplementedError(f"Cache.get_or_load — {SECTION} 'Cache-aside' and 'Stampedes'")

    def invalidate(self, key: str) -> None:
        """Drop ``key`` so the next read loads fresh data (call it after writing the source)."""
        raise NotImplementedError(f"Cache.invalidate — {SECTION} 'Cache-aside'")
