"""The state a stateless instance must not keep: sessions and rate-limit counters, in Redis.

Your task: implement :meth:`RateLimiter.hit`, :meth:`Sessions.create` and :meth:`Sessions.user_for`
so that every instance built on the same Redis gives the same answers:

* ``RateLimiter.hit(key)`` counts one request of client ``key`` in Redis and allows at most
  ``limit`` per window of ``window_s`` (a fixed window aligned on ``now - now % window`` is
  enough); refused decisions carry ``retry_after_s`` > 0 (seconds until the window resets), and
  every decision ``reset_after_s``; one round trip (a Lua script, or INCR + PEXPIRE in a
  ``MULTI``) so concurrent instances never lose a count;
* ``Sessions.create(user)`` returns a new unguessable token (``secrets.token_urlsafe``) stored
  in Redis with a TTL of ``ttl_s``; ``user_for(token)`` returns its user and extends the TTL
  (``GETEX … PX``), or ``None`` for a token it does not know;
* every key you write has a TTL — state in Redis must clean itself up.

An instance that counts requests in a dict counts only its own share: behind a load balancer
with three instances, a client limited to 5 requests gets 15. An instance that keeps sessions
in a dict logs the user out whenever the balancer picks another instance.
"""

from __future__ import annotations

import math
import secrets  # noqa: F401  (the imports you will need are here already)
import time  # noqa: F401
from dataclasses import dataclass

import redis

SECTION = "see weeks/09-scaling/README.md, section 'State lives in Redis'"


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

    def hit(self, key: str, *, now: float | None = None) -> Decision:
        """Count one request of client ``key`` and say whether it may proceed."""
        raise NotImplementedError(f"RateLimiter.hit — {SECTION}")


class Sessions:
    """Opaque session tokens in Redis with a sliding TTL: every use extends the session."""

    def __init__(self, client: redis.Redis, *, ttl_s: float, namespace: str = "session") -> None:
        self.client = client
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.namespace = namespace

    def create(self, user: str) -> str:
        """A new random token for ``user``, valid for ``ttl_s`` from its last use."""
        raise NotImplementedError(f"Sessions.create — {SECTION}")

    def user_for(self, token: str) -> str | None:
        """The token's user (extending the session), or ``None`` if it is unknown or expired."""
        raise NotImplementedError(f"Sessions.user_for — {SECTION}")
