"""Fixed-window counter: at most ``limit`` requests per aligned window of ``window_s`` seconds.

Your task: implement :meth:`FixedWindowLimiter.hit` as ONE round trip to Redis — a Lua script
registered once (``client.register_script``) and called per decision (EVALSHA) — that checks
and increments atomically. The window containing ``now`` starts at ``now_ms - now_ms % window_ms``.
The key's expiry is relative (``PEXPIRE``), never a time computed from ``now``.
The limiter: see weeks/05-redis/README.md, section 'Rate limiting'.
The script: see weeks/05-redis/README.md, section 'Atomic in one round trip'.
"""

from __future__ import annotations

import redis

from .decision import Decision


class FixedWindowLimiter:
    """``limit`` requests per key per window; one EVALSHA per decision."""

    def __init__(self, client: redis.Redis, *, limit: int, window_s: float,
                 namespace: str = "rl:fixed") -> None:
        """Raise ``ValueError`` unless ``limit >= 1`` and the window is at least 1 ms."""
        self.client = client
        self.limit = limit
        self.window_ms = round(window_s * 1000)
        self.namespace = namespace

    def hit(self, key: str, now: float | None = None) -> Decision:
        """Count one request for ``key`` at ``now`` (seconds; default: the wall clock).

        Pass ``now`` into the script (``decision.now_ms``) instead of reading the server clock,
        so tests can put a request exactly on a window edge.
        """
        raise NotImplementedError(
            "FixedWindowLimiter.hit — see weeks/05-redis/README.md, section 'Rate limiting'")
