"""Sliding-window *log*: at most ``limit`` requests in any ``window`` seconds — exactly.

Your task: implement :meth:`SlidingWindowLimiter.hit` as ONE Lua script over a sorted set of
request times (milliseconds): drop entries at or before ``now - window``, count the rest, add
this request if under the limit. Denied requests are not logged. The window is
``(now - window, now]``. Read weeks/05-redis/README.md, section 'Rate limiting'.
"""

from __future__ import annotations

import redis

from .decision import Decision


class SlidingWindowLimiter:
    """``limit`` requests per key in any rolling ``window`` seconds; one EVALSHA per decision."""

    def __init__(self, client: redis.Redis, *, limit: int, window: float,
                 namespace: str = "rl:sliding") -> None:
        self.client = client
        self.limit = limit
        self.window_ms = round(window * 1000)
        self.namespace = namespace

    def hit(self, key: str, now: float | None = None) -> Decision:
        """Count one request for ``key`` at ``now`` (seconds; default: the wall clock).

        ``retry_after`` comes from the oldest logged request, ``reset_after`` from the newest.
        """
        raise NotImplementedError(
            "SlidingWindowLimiter.hit — see weeks/05-redis/README.md, section 'Rate limiting'")
