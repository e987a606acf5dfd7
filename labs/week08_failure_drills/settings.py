"""Every knob the failure drills turn, read from the environment (``REDIS_TIMEOUT_S=0.1`` …).

Timeouts live here, next to each other, because they are one budget: a request that may call
Redis three times and PostgreSQL once can take, at worst, the sum of what these numbers allow.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str
    redis_url: str

    # Redis is an optimisation: it gets a budget far below what a user would notice.
    redis_timeout_s: float = 0.25
    # PostgreSQL is the source of truth: more patience, but still bounded at every step.
    db_connect_timeout_s: int = 2  # libpq's minimum; a refused connection fails at once anyway
    db_statement_timeout_ms: int = 2_000
    db_pool_size: int = 10  # also the bulkhead: at most this many requests wait on PostgreSQL
    db_pool_timeout_s: float = 1.0

    rate_limit: int = 100  # requests per client per window
    rate_window_s: int = 60
    rate_limit_fail_open: bool = True  # when Redis cannot answer: allow (True) or refuse (False)

    breaker_failure_threshold: int = 3  # consecutive failures that open a dependency's breaker
    breaker_reset_timeout_s: float = 1.0  # how long it stays open before one trial call
    retry_after_s: float = 1.0  # the floor for Retry-After on a 503
