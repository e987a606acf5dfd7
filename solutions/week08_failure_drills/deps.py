"""The service's dependencies, built once per process and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from sqlalchemy import Engine

from . import db
from .breaker import CircuitBreaker
from .cache import ItemCache, connect_redis
from .limiter import RateLimiter
from .settings import Settings


@dataclass(frozen=True)
class Deps:
    settings: Settings
    engine: Engine
    redis: redis.Redis
    db_breaker: CircuitBreaker
    redis_breaker: CircuitBreaker  # one per dependency: the cache and the limiter share Redis's
    cache: ItemCache
    limiter: RateLimiter


def breaker_for(settings: Settings) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=settings.breaker_failure_threshold,
                          reset_timeout_s=settings.breaker_reset_timeout_s)


def build_deps(settings: Settings) -> Deps:
    """Nothing here connects: the service starts even while Redis or PostgreSQL is down."""
    client = connect_redis(settings.redis_url, settings.redis_timeout_s)
    redis_breaker = breaker_for(settings)
    return Deps(
        settings=settings,
        engine=db.make_engine(settings),
        redis=client,
        db_breaker=breaker_for(settings),
        redis_breaker=redis_breaker,
        cache=ItemCache(client, redis_breaker),
        limiter=RateLimiter(client, redis_breaker, settings.rate_limit, settings.rate_window_s,
                            fail_open=settings.rate_limit_fail_open),
    )


def close_deps(deps: Deps) -> None:
    deps.redis.close()
    deps.engine.dispose()
