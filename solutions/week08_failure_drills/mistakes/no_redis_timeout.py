"""MISTAKE (no_redis_timeout):
the Redis client runs on the library's defaults: a slow Redis holds every request for seconds.

The Redis side of the service: a client with a budget, and a cache that can never fail a read.

Redis here is an optimisation. When it is slow or gone, the right answer is "miss" — quickly —
and the caller goes to PostgreSQL. Every call goes through the Redis breaker, so once Redis is
known to be down the cache costs nothing at all.
"""

from __future__ import annotations

import uuid

import redis
from pydantic import ValidationError

from .breaker import CircuitBreaker, CircuitOpenError
from .models import Item

CACHE_TTL_S = 300


def connect_redis(url: str, timeout_s: float) -> redis.Redis:
    """A client for the cache and the limiter."""
    # MISTAKE: the library's defaults are trusted. redis-py waits seconds for a slow Redis
    # (and may retry), so every request pays that wait; ``timeout_s`` is never used.
    return redis.Redis.from_url(url, decode_responses=True)


class ItemCache:
    def __init__(self, client: redis.Redis, breaker: CircuitBreaker, ttl_s: int = CACHE_TTL_S) -> None:
        self.client = client
        self.breaker = breaker
        self.ttl_s = ttl_s

    @staticmethod
    def key(item_id: uuid.UUID) -> str:
        return f"item:{item_id}"

    def get(self, item_id: uuid.UUID) -> Item | None:
        """The cached item, or ``None`` on a miss — and also when Redis fails: never raises."""
        try:
            raw = self.breaker.call(self.client.get, self.key(item_id))
        except (redis.RedisError, CircuitOpenError):
            return None  # the breaker has counted the error; an open circuit costs nothing
        if raw is None:
            return None
        try:
            return Item.model_validate_json(raw)
        except ValidationError:
            return None  # an entry from an older schema is just a miss

    def put(self, item: Item) -> None:
        """Best effort: a failed cache write only means the next read goes to PostgreSQL."""
        try:
            # With its TTL, in the same command: an entry that outlives every change is a bug
            # that shows up weeks later as "the price will not update".
            self.breaker.call(self.client.set, self.key(item.id), item.model_dump_json(), ex=self.ttl_s)
        except (redis.RedisError, CircuitOpenError):
            return
