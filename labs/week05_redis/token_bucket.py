"""Token bucket: bursts up to ``capacity``, then a steady ``refill_per_second``.

Your task: implement :meth:`TokenBucketLimiter.hit` as ONE Lua script over a hash holding the
tokens and the time they were counted; refill lazily from the time that passed, capped at
capacity. Compute in integer milliseconds and thousandths of a token: Lua numbers are doubles,
and Redis truncates a Lua number it returns to an integer. The key expires (``PEXPIRE``, relative)
no sooner than the bucket would be full again and no later than a full refill from empty.
See weeks/05-redis/README.md, section 'Rate limiting'.
"""

from __future__ import annotations

import redis

from .decision import Decision


class TokenBucketLimiter:
    """Up to ``capacity`` requests at once, refilled at ``refill_per_second``; one EVALSHA each."""

    def __init__(self, client: redis.Redis, *, capacity: int, refill_per_second: float,
                 namespace: str = "rl:bucket") -> None:
        """Raise ``ValueError`` unless ``capacity >= 1`` and ``refill_per_second > 0``."""
        self.client = client
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self.namespace = namespace

    def hit(self, key: str, now: float | None = None) -> Decision:
        """Take one token for ``key`` at ``now`` (seconds; default: the wall clock)."""
        raise NotImplementedError(
            "TokenBucketLimiter.hit — see weeks/05-redis/README.md, section 'Rate limiting'")
