"""Fixed-window counter: at most ``limit`` requests per aligned window of ``window`` seconds.

Your task: implement :meth:`FixedWindowLimiter.hit` as ONE round trip to Redis — a Lua script
registered once (``client.register_script``) and called per decision (EVALSHA) — that checks
and increments atomically. The window containing ``now`` starts at ``now_ms - now_ms % window_ms``.
Read weeks/05-redis/README.md, sections 'Rate limiting' and 'Atomic in one round trip'.
"""

from __future__ import annotations

import redis

from .decision import Decision


class FixedWindowLimiter:
    """``limit`` requests per key per window; one EVALSHA per decision."""

    def __init__(self, client: redis.Redis, *, limit: int, window: float,
                 namespace: str = "rl:fixed") -> None:
        self.client = client
        self.limit = limit
        self.window_ms = round(window * 1000)
        self.namespace = namespace

    def hit(self, key: str, now: float | None = None) -> Decision:
        """Count one request for ``key`` at ``now`` (seconds; default: the wall clock).

        Pass ``now`` into the script (``decision.now_ms``) instead of reading the server clock,
        so tests can put a request exactly on a window edge.
        """
        raise NotImplementedError(
            "FixedWindowLimiter.hit — see weeks/05-redis/README.md, section 'Rate limiting'")
