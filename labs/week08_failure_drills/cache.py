"""The Redis side of the service: a client with a budget, and a cache that can never fail a read.

Redis here is an optimisation. When it is slow or gone, the right answer is "miss" — quickly —
and the caller goes to PostgreSQL. Every call goes through the Redis breaker, so once Redis is
known to be down the cache costs nothing at all.
"""

from __future__ import annotations

import uuid

import redis

from .breaker import CircuitBreaker, CircuitOpenError  # noqa: F401  (an open circuit raises it)
from .models import Item

CACHE_TTL_S = 300


def connect_redis(url: str, timeout_s: float) -> redis.Redis:
    """A client whose every call is bounded by ``timeout_s``: connect, send and read.

    Set both socket timeouts, and turn off the client's own retries (``redis.retry.Retry`` with
    ``retries=0``): a retry loop multiplies your budget, and the breaker is the better tool.
    Use ``decode_responses=True``.
    """
    raise NotImplementedError(
        "connect_redis: see weeks/08-failure-drills/README.md, section 'Timeouts everywhere'")


class ItemCache:
    def __init__(self, client: redis.Redis, breaker: CircuitBreaker, ttl_s: int = CACHE_TTL_S) -> None:
        self.client = client
        self.breaker = breaker
        self.ttl_s = ttl_s

    @staticmethod
    def key(item_id: uuid.UUID) -> str:
        return f"item:{item_id}"

    def get(self, item_id: uuid.UUID) -> Item | None:
        """The cached item (JSON under ``key(item_id)``), or ``None`` on a miss — and also when
        Redis fails or the circuit is open: this method never raises. Make every Redis call
        through ``self.breaker.call(...)`` so the breaker hears about each outcome."""
        raise NotImplementedError(
            "ItemCache.get: see weeks/08-failure-drills/README.md, section 'Breakers and bulkheads'")

    def put(self, item: Item) -> None:
        """Store ``item`` as JSON with a TTL of ``ttl_s`` seconds, set in the same command. Best
        effort: never raises; same breaker rule as ``get``."""
        raise NotImplementedError(
            "ItemCache.put: see weeks/08-failure-drills/README.md, section 'Breakers and bulkheads'")
