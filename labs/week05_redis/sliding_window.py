"""Sliding-window *log*: at most ``limit`` requests in any ``window_s`` seconds — exactly.

Your task: implement :meth:`SlidingWindowLimiter.hit` as ONE Lua script over a sorted set of
request times (milliseconds): drop entries at or before ``now - window_s``, count the rest, add
this request if under the limit. Denied requests are not logged. The window is
``(now - window_s, now]``. Members of a sorted set are unique: two requests in the same
millisecond need two different members. The key's expiry is relative (``PEXPIRE``).
See weeks/05-redis/README.md, section 'Rate limiting'.
"""

from __future__ import annotations

import redis

from .decision import Decision


class SlidingWindowLimiter:
    """``limit`` requests per key in any rolling ``window_s`` seconds; one EVALSHA per decision."""

    def __init__(self, client: redis.Redis, *, limit: int, window_s: float,
                 namespace: str = "rl:sliding") -> None:
        """Raise ``ValueError`` unless ``limit >= 1`` and the window is at least 1 ms."""
        self.client = client
        self.limit = limit
        self.window_ms = round(window_s * 1000)
        self.namespace = namespace

    def hit(self, key: str, now: float | None = None) -> Decision:
        """Count one request for ``key`` at ``now`` (seconds; default: the wall clock).

        ``retry_after_s`` comes from the oldest logged request, ``reset_after_s`` from the newest.
        """
        raise NotImplementedError(
            "SlidingWindowLimiter.hit — see weeks/05-redis/README.md, section 'Rate limiting'")
