"""Token bucket: bursts up to ``capacity``, then a steady ``refill_per_second``.

The bucket is two numbers in a hash — tokens and when they were counted — refilled lazily on
each decision from the time that passed. No background timer, no per-request entries.
"""

from __future__ import annotations

import redis

from .decision import Decision, now_ms

# Tokens are kept in thousandths ("millitokens") and time in milliseconds, so a rate of r
# tokens/s is exactly r millitokens/ms and the arithmetic at the edges stays exact.
# Only an allowed request writes state; the key expires once the bucket would be full anyway.
_HIT = """
local now, capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2]) * 1000, tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1000 then
    tokens = tokens - 1000
    allowed = 1
    redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', math.max(now, at))
    redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((capacity - tokens) / rate)))
end
local retry = 0
if tokens < 1000 then retry = math.ceil((1000 - tokens) / rate) end
return {allowed, math.floor(tokens / 1000), retry, math.ceil((capacity - tokens) / rate)}
"""


class TokenBucketLimiter:
    """Up to ``capacity`` requests at once, refilled at ``refill_per_second``; one EVALSHA each."""

    def __init__(self, client: redis.Redis, *, capacity: int, refill_per_second: float,
                 namespace: str = "rl:bucket") -> None:
        if capacity < 1 or refill_per_second <= 0:
            raise ValueError(f"need capacity >= 1 and refill_per_second > 0; got capacity={capacity}, "
                             f"refill_per_second={refill_per_second}")
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self.namespace = namespace
        self._hit = client.register_script(_HIT)

    def hit(self, key: str, now: float | None = None) -> Decision:
        """Take one token for ``key`` at ``now`` (seconds; default: the wall clock)."""
        allowed, remaining, retry_ms, reset_ms = self._hit(
            keys=[f"{self.namespace}:{key}"],
            args=[now_ms(now), self.capacity, self.refill_per_second])
        return Decision(allowed=bool(allowed), limit=self.capacity, remaining=int(remaining),
                        retry_after_s=int(retry_ms) / 1000, reset_after_s=int(reset_ms) / 1000)
