"""MISTAKE get_then_set — a fixed-window limiter that reads, decides in Python, then writes.

It looks right in a single-threaded test. Under concurrency, two clients GET the same count,
both decide "under the limit", both SET count + 1: increments are lost and the limit leaks.
"""

from __future__ import annotations

import redis

from .decision import Decision, now_ms


class FixedWindowLimiter:
    def __init__(self, client: redis.Redis, *, limit: int, window_s: float,
                 namespace: str = "rl:fixed") -> None:
        self.client = client
        self.limit = limit
        self.window_ms = round(window_s * 1000)
        self.namespace = namespace

    def hit(self, key: str, now: float | None = None) -> Decision:
        at = now_ms(now)
        window_start = at - at % self.window_ms
        counter = f"{self.namespace}:{key}:{window_start}"
        count = int(self.client.get(counter) or 0)  # round trip 1 …
        allowed = count < self.limit
        if allowed:
            count += 1
            self.client.set(counter, count, px=self.window_ms)  # … round trip 2: the race is between
        remaining = self.limit - count
        until_reset = (window_start + self.window_ms - at) / 1000
        return Decision(allowed=allowed, limit=self.limit, remaining=remaining,
                        retry_after_s=0.0 if remaining > 0 else until_reset, reset_after_s=until_reset)
