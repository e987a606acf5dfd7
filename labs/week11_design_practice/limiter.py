"""Week 05's token bucket, given complete: async, and with the course's ``_s`` field names.

A copy, not an import of ``labs.week05_redis``: this week's tests must fail or pass for this
week's reasons — a learner whose week 05 is unfinished still gets an honest week 11 — and the
anchor will need an async limiter (``redis.asyncio``), which week 05 does not teach. The Lua
script is week 05's, unchanged: one atomic round trip per decision, tokens in thousandths and
time in integer milliseconds so 0.999 of a token is never rounded up.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis.asyncio as redis

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


@dataclass(frozen=True)
class Decision:
    """One limiter decision (week 05's answer).

    ``retry_after_s`` is 0.0 while requests are allowed; ``reset_after_s`` is the time until the
    bucket is full again. An HTTP ``Retry-After`` header is ``max(1, ceil(retry_after_s))``.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float
    reset_after_s: float


def retry_after_header(decision: Decision) -> str:
    """Whole seconds, at least 1: a client told "0" retries at once and is refused again."""
    return str(max(1, math.ceil(decision.retry_after_s)))


class TokenBucketLimiter:
    """Up to ``capacity`` requests at once, refilled at ``refill_per_second``; one EVALSHA each."""

    def __init__(self, client: redis.Redis, *, capacity: int, refill_per_second: float,
                 namespace: str = "rl:bucket") -> None:
        if capacity < 1 or refill_per_second <= 0:
            raise ValueError(f"need capacity >= 1 and refill_per_second > 0; "
                             f"got {capacity}, {refill_per_second}")
        self.capacity = capacity
        # Thousandths of a token per millisecond is tokens per second: the script's unit.
        self.refill_per_second = refill_per_second
        self.namespace = namespace
        self._hit = client.register_script(_HIT)

    async def hit(self, key: str, now: float | None = None) -> Decision:
        """Take one token for ``key`` at ``now`` (seconds; default: the wall clock)."""
        at_ms = round((time.time() if now is None else now) * 1000)
        allowed, remaining, retry_ms, reset_ms = await self._hit(
            keys=[f"{self.namespace}:{key}"], args=[at_ms, self.capacity, self.refill_per_second])
        return Decision(allowed=bool(allowed), limit=self.capacity, remaining=int(remaining),
                        retry_after_s=int(retry_ms) / 1000, reset_after_s=int(reset_ms) / 1000)
