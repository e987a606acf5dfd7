"""Cache-aside with a jittered TTL and stampede protection.

Your task: implement :class:`Cache`.

* ``get_or_load`` — read ``key_for(key)``; on a miss, load and store the JSON value with a TTL;
* every write's TTL is drawn from ``ttl_s × [1 - jitter, 1 + jitter]`` (``ttl_ms``);
* when many callers miss the same key at once, exactly one (the holder of a
  :class:`~.lock.RedisLock` on the key) runs the loader; the others wait and get its value;
* a waiter still without a value after ``wait_timeout_s`` runs the loader itself and returns
  what it loaded — the cache never makes a request fail, or answer None;
* a loader that raises must not leave a lock behind.

The cache: see weeks/05-redis/README.md, section 'Cache-aside'.
The TTL: see weeks/05-redis/README.md, section 'TTL strategies'.
The lock and the waiters: see weeks/05-redis/README.md, section 'Stampedes'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from .lock import RedisLock  # noqa: F401 — you will need it for stampede protection


class Cache:
    """JSON values cached under ``{namespace}:{key}`` for ``ttl_s`` seconds, ±``jitter`` (a fraction)."""

    def __init__(self, client: redis.Redis, *, namespace: str = "cache", ttl_s: float = 300.0,
                 jitter: float = 0.1, lock_ttl_s: float = 10.0, wait_timeout_s: float = 10.0,
                 poll_interval_s: float = 0.01) -> None:
        if not 0 <= jitter < 1:
            raise ValueError("jitter is a fraction of the TTL, in [0, 1)")
        self.client = client
        self.namespace = namespace
        self.ttl_s = ttl_s
        self.jitter = jitter
        self.lock_ttl_s = lock_ttl_s  # how long a loader may hold the per-key lock
        self.wait_timeout_s = wait_timeout_s  # how long a waiter polls before loading by itself
        self.poll_interval_s = poll_interval_s

    def key_for(self, key: str) -> str:
        """The Redis key that holds ``key``'s cached value."""
        return f"{self.namespace}:{key}"

    def ttl_ms(self) -> int:
        """A TTL drawn uniformly from ``ttl_s × [1 - jitter, 1 + jitter]``, in milliseconds."""
        raise NotImplementedError("Cache.ttl_ms — see weeks/05-redis/README.md, section 'TTL strategies'")

    def get_or_load(self, key: str, loader: Callable[[], Any]) -> Any:
        """The cached value for ``key``; on a miss exactly one caller runs ``loader``.

        Waiters poll the cache every ``poll_interval_s`` seconds; past ``wait_timeout_s`` they call
        ``loader`` themselves and return its value rather than fail the request (or return None).
        """
        raise NotImplementedError("Cache.get_or_load — see weeks/05-redis/README.md, section 'Stampedes'")

    def invalidate(self, key: str) -> None:
        """Drop ``key`` so the next read loads fresh data (call it after writing the source)."""
        raise NotImplementedError("Cache.invalidate — see weeks/05-redis/README.md, section 'Cache-aside'")
