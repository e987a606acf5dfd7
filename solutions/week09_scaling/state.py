"""The state a stateless instance must not keep: sessions and rate-limit counters, in Redis.

An instance that counts requests in a dict counts only its own share: behind a load balancer
with three instances, a client limited to 5 requests gets 15. An instance that keeps sessions
in a dict logs the user out whenever the balancer picks another instance. Put both in Redis,
with a TTL on every key, and any instance can answer any request — which is what lets you add
instances, kill one, or deploy one at a time.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass

import redis

# Fixed window: count this request in the current window's key, expire the key with the window,
# and return the count and the milliseconds the window has left — one atomic round trip.
_FIXED_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True)
class Decision:
    """One limiter decision — week 05's answer, under the course's field names.

    ``retry_after_s`` is 0.0 while requests are allowed; an HTTP ``Retry-After`` header is
    ``max(1, ceil(retry_after_s))``.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float
    reset_after_s: float


def retry_after_header(decision: Decision) -> str:
    """The ``Retry-After`` value for a refused request: whole seconds, at least 1."""
    return str(max(1, math.ceil(decision.retry_after_s)))


class RateLimiter:
    """A fixed-window limit per client, counted in Redis so every instance shares it."""

    def __init__(self, client: redis.Redis, *, limit: int, window_s: float, namespace: str = "rate") -> None:
        self.client = client
        self.limit = limit
        self.window_ms = max(1, round(window_s * 1000))
        self.namespace = namespace
        self._script = client.register_script(_FIXED_WINDOW)

    def hit(self, key: str, *, now: float | None = None) -> Decision:
        """Count one request of client ``key`` and say whether it may proceed."""
        now_ms = round((time.time() if now is None else now) * 1000)
        window_start = now_ms - now_ms % self.window_ms
        count, ttl_ms = self._script(keys=[f"{self.namespace}:{key}:{window_start}"], args=[self.window_ms])
        count, ttl_ms = int(count), int(ttl_ms)
        allowed = count <= self.limit
        return Decision(allowed=allowed, limit=self.limit, remaining=max(0, self.limit - count),
                        retry_after_s=0.0 if allowed else ttl_ms / 1000, reset_after_s=ttl_ms / 1000)


class Sessions:
    """Opaque session tokens in Redis with a sliding TTL: every use extends the session."""

    def __init__(self, client: redis.Redis, *, ttl_s: float, namespace: str = "session") -> None:
        self.client = client
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.namespace = namespace

    def create(self, user: str) -> str:
        """A new random token for ``user``, valid for ``ttl_s`` from its last use."""
        token = secrets.token_urlsafe(24)
        self.client.set(f"{self.namespace}:{token}", user, px=self.ttl_ms)
        return token

    def user_for(self, token: str) -> str | None:
        """The token's user (extending the session), or ``None`` if it is unknown or expired."""
        user = self.client.getex(f"{self.namespace}:{token}", px=self.ttl_ms)
        return user if isinstance(user, str) else (user.decode() if user is not None else None)
