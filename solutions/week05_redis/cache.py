"""Cache-aside with a jittered TTL and stampede protection.

Cache-aside: read the cache; on a miss, load from the source of truth and write the cache.
Two things turn that textbook loop into something that survives production traffic:

* **jitter** — keys filled together (a deploy, a warm-up job) must not all expire in the same
  second, or the source of truth gets every miss at once;
* **a per-key lock** — when a hot key expires, hundreds of requests miss together. Only the
  lock holder loads; everyone else polls the cache and gets the value it writes.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

import redis

from .lock import RedisLock


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
        self.lock_ttl_s = lock_ttl_s
        self.wait_timeout_s = wait_timeout_s
        self.poll_interval_s = poll_interval_s

    def key_for(self, key: str) -> str:
        """The Redis key that holds ``key``'s cached value."""
        return f"{self.namespace}:{key}"

    def ttl_ms(self) -> int:
        """A TTL drawn uniformly from ``ttl_s × [1 - jitter, 1 + jitter]``, in milliseconds."""
        return max(1, round(self.ttl_s * random.uniform(1 - self.jitter, 1 + self.jitter) * 1000))

    def get_or_load(self, key: str, loader: Callable[[], Any]) -> Any:
        """The cached value for ``key``; on a miss exactly one caller runs ``loader``."""
        cache_key = self.key_for(key)
        lock = RedisLock(self.client, f"{cache_key}:lock", self.lock_ttl_s)
        deadline = time.monotonic() + self.wait_timeout_s
        while True:
            cached = self.client.get(cache_key)
            if cached is not None:
                return json.loads(cached)
            if lock.acquire():
                try:
                    # The previous holder may have filled the key between our GET and our SET NX.
                    cached = self.client.get(cache_key)
                    if cached is not None:
                        return json.loads(cached)
                    value = loader()
                    self.client.set(cache_key, json.dumps(value), px=self.ttl_ms())
                    return value
                finally:
                    lock.release()
            if time.monotonic() >= deadline:
                # The holder is stuck. The cache is an optimisation, never the reason a request
                # fails: load for ourselves and let the holder write the key.
                return loader()
            time.sleep(self.poll_interval_s)

    def invalidate(self, key: str) -> None:
        """Drop ``key`` so the next read loads fresh data (call it after writing the source)."""
        self.client.delete(self.key_for(key))
