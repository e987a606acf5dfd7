"""The Redis client every role uses: ``redis.asyncio`` with text replies, made in the lifespan."""

from __future__ import annotations

import redis.asyncio as aioredis

from .config import Settings

STREAM = "anchor:deliveries"             # delivery ids to attempt, one entry per due delivery
GROUP = "workers"                        # the workers' consumer group on STREAM
DEAD_LETTERS = "anchor:deliveries:dead"  # entries whose handling crashed max_stream_deliveries times


def make_redis(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis.from_url(settings.redis_url, decode_responses=True,
                                   health_check_interval=10, socket_keepalive=True)
