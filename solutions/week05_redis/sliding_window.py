"""Sliding-window *log*: at most ``limit`` requests in any ``window_s`` seconds — exactly.

Each allowed request is a member of a sorted set scored by its time; a decision drops the
members older than the window and counts the rest. Exact, at the price of one entry per
allowed request (the "sliding-window counter" approximation trades exactness for two integers).
Denied requests are not logged, so a client that keeps hammering is not locked out for ever.
"""

from __future__ import annotations

import secrets

import redis

from .decision import Decision, now_ms

# The window is (now - window, now]: an entry exactly one window old no longer counts.
_HIT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[4])
    redis.call('PEXPIRE', KEYS[1], window)
    count = count + 1
    allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or now
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2] or now
return {allowed, count, tonumber(oldest), tonumber(newest)}
"""


class SlidingWindowLimiter:
    """``limit`` requests per key in any rolling ``window_s`` seconds; one EVALSHA per decision."""

    def __init__(self, client: redis.Redis, *, limit: int, window_s: float,
                 namespace: str = "rl:sliding") -> None:
        if limit < 1 or round(window_s * 1000) < 1:
            raise ValueError(f"need limit >= 1 and a window of at least 1 ms; got limit={limit}, "
                             f"window_s={window_s}")
        self.limit = limit
        self.window_ms = round(window_s * 1000)
        self.namespace = namespace
        self._hit = client.register_script(_HIT)

    def hit(self, key: str, now: float | None = None) -> Decision:
        """Count one request for ``key`` at ``now`` (seconds; default: the wall clock)."""
        at = now_ms(now)
        member = f"{at}:{secrets.token_hex(6)}"  # two requests in the same millisecond both count
        allowed, count, oldest, newest = self._hit(
            keys=[f"{self.namespace}:{key}"], args=[at, self.window_ms, self.limit, member])
        remaining = self.limit - int(count)
        retry_after_s = 0.0 if remaining > 0 else (int(oldest) + self.window_ms - at) / 1000
        return Decision(allowed=bool(allowed), limit=self.limit, remaining=remaining,
                        retry_after_s=retry_after_s, reset_after_s=(int(newest) + self.window_ms - at) / 1000)
