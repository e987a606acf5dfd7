"""A single-instance Redis lock: ``SET NX PX`` to take it, a token-checked script to give it back.

Your task: make the lock exclusive, self-expiring, and impossible to release on someone
else's behalf. A holder can outlive its lease (a slow loader, a GC pause); by then someone
else may hold the lock, and a plain ``DEL`` would delete *their* lease.
See weeks/05-redis/README.md, section 'A lock you can trust'.
"""

from __future__ import annotations

import redis

SECTION = "see weeks/05-redis/README.md, section 'A lock you can trust'"


class RedisLock:
    """A non-blocking lease on ``name`` that expires after ``ttl_s`` seconds unless released."""

    def __init__(self, client: redis.Redis, name: str, ttl_s: float) -> None:
        self.client = client
        self.name = name
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.token: str | None = None

    def acquire(self) -> bool:
        """Take the lock if it is free; True when this call now holds it.

        One command: ``SET name <random token> NX PX ttl_ms``. Keep the token for release().
        """
        raise NotImplementedError(f"RedisLock.acquire — {SECTION}")

    def release(self) -> bool:
        """Give the lock back — only if it is still ours; True when our lease was deleted.

        False when there was nothing of ours to delete: never acquired, already released, or the
        lease expired (and perhaps someone else holds the lock now).

        The compare and the delete must be one atomic step on the server (a short Lua script).
        """
        raise NotImplementedError(f"RedisLock.release — {SECTION}")
