"""MISTAKE release_ignores_the_reply — release() runs the token-checked script, then says True.

The delete is safe (the script compares the token), but the answer lies: a release of a lock
never acquired, released twice, or whose lease expired reports success. Code that logs "lock
lost" or retries on False never learns its lease ran out while it worked.
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
        if self.token is not None:
            self._release(keys=[self.name], args=[self.token])
        return True  # MISTAKE: the script's reply (1 deleted, 0 not ours) is thrown away
