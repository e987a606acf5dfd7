"""The token bucket of week 05, async: per-tenant ingest quotas and per-endpoint delivery rates.

Given, not re-taught: week 05 owns the algorithm and the :class:`Decision` it answers with. Tokens
are kept in thousandths and time in milliseconds inside one Lua script, so a decision is one
round trip and two API instances (or two workers) share one bucket exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

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
    """Week 05's limiter answer: ``Retry-After`` is ``max(1, ceil(retry_after_s))``."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float
    reset_after_s: float


class TokenBucket:
    """Up to ``capacity`` at once, refilled at ``refill_per_second``; one EVALSHA per decision."""

    def __init__(self, client: aioredis.Redis, *, namespace: str) -> None:
        self.namespace = namespace
        self._hit = client.register_script(_HIT)

    async def hit(self, key: str, *, capacity: int, refill_per_second: float,
                  now_s: float | None = None) -> Decision:
        """Take one token from ``key``'s bucket (its size and rate are per call: per tenant/endpoint)."""
        if capacity < 1 or refill_per_second <= 0:
            raise ValueError(f"need capacity >= 1 and refill_per_second > 0; got {capacity}, "
                             f"{refill_per_second}")
        now_ms = round((time.time() if now_s is None else now_s) * 1000)
        allowed, remaining, retry_ms, reset_ms = await self._hit(
            keys=[f"{self.namespace}:{key}"], args=[now_ms, capacity, refill_per_second])
        return Decision(allowed=bool(allowed), limit=capacity, remaining=int(remaining),
                        retry_after_s=int(retry_ms) / 1000, reset_after_s=int(reset_ms) / 1000)
