"""Fixed-window counter: at most ``limit`` requests per aligned window of ``window_s`` seconds.

The cheapest limiter (one integer per key per window), with one known flaw: a client can send
``limit`` requests at the end of one window and ``limit`` more at the start of the next.
"""

from __future__ import annotations

import redis

from .decision import Decision, now_ms

# Check and increment in one atomic step: the counter never passes the limit, even when many
# app servers ask at the same instant. The key expires one window after its first hit.
_HIT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
    return {0, count}
end
count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {1, count}
"""


class FixedWindowLimiter:
    """``limit`` requests per key per window; one EVALSHA per decision."""

    def __init__(self, client: redis.Redis, *, limit: int, window_s: float,
                 namespace: str = "rl:fixed") -> None:
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
        window_start = at - at % self.window_ms
        # The window is part of the key name, so a new window starts from zero by construction.
        counter = f"{self.namespace}:{key}:{window_start}"
        allowed, count = self._hit(keys=[counter], args=[self.limit, self.window_ms])
        remaining = self.limit - int(count)
        until_reset = (window_start + self.window_ms - at) / 1000
        return Decision(allowed=bool(allowed), limit=self.limit, remaining=remaining,
                        retry_after_s=0.0 if remaining > 0 else until_reset, reset_after_s=until_reset)
