"""MISTAKE lock_without_token — release() deletes the lock without checking whose it is.

If the holder outlived its lease (a slow loader, a GC pause), the lock already expired and
someone else took it. This DEL then removes *their* lock, and a third caller walks right in.
"""

from __future__ import annotations

import redis


class RedisLock:
    def __init__(self, client: redis.Redis, name: str, ttl_s: float) -> None:
        self.client = client
        self.name = name
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(self.client.set(self.name, "1", nx=True, px=self.ttl_ms))
        return self.held

    def release(self) -> bool:
        if not self.held:
            return False
        self.held = False
        return bool(self.client.delete(self.name))  # MISTAKE: deletes whoever holds it now
