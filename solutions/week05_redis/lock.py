"""A single-instance Redis lock: ``SET NX PX`` to take it, a token-checked script to give it back.

The token is what makes it safe. A holder can outlive its lease (a long GC pause, a slow
loader); the lock expires and someone else takes it. When the first holder finally releases,
a plain ``DEL`` would delete the *new* holder's lock. Comparing the token and deleting in one
Lua script — atomic on the server — means a holder can only ever release its own lease.
"""

from __future__ import annotations

import secrets

import redis

# GET and DEL run inside one script, so nothing can take the lock between the check and the delete.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLock:
    """A non-blocking lease on ``name`` that expires after ``ttl_s`` seconds unless released."""

    def __init__(self, client: redis.Redis, name: str, ttl_s: float) -> None:
        self.client = client
        self.name = name
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.token: str | None = None
        self._release = client.register_script(_RELEASE)

    def acquire(self) -> bool:
        """Take the lock if it is free; True when this call now holds it."""
        token = secrets.token_hex(16)
        if self.client.set(self.name, token, nx=True, px=self.ttl_ms):
            self.token = token
            return True
        return False

    def release(self) -> bool:
        """Give the lock back — only if it is still ours; True when our lease was deleted.

        False when there was nothing of ours to delete: never acquired, already released, or the
        lease expired (and perhaps someone else holds the lock now).
        """
        if self.token is None:
            return False
        token, self.token = self.token, None
        return bool(self._release(keys=[self.name], args=[token]))
