"""The service's settings, read from the environment — the same for every instance.

Given complete. Three instances started with the same ``REDIS_URL`` share everything that
matters; only ``INSTANCE`` (echoed in the ``X-Instance`` header) tells them apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    redis_url: str
    instance: str = "local"
    rate_limit: int = 100  # requests per client per window
    rate_window_s: float = 60.0
    session_ttl_s: float = 1800.0  # sliding: every use extends it
    idempotency_ttl_s: float = 86_400.0
    redis_timeout_s: float = 1.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            redis_url=env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            instance=env.get("INSTANCE", "local"),
            rate_limit=int(env.get("RATE_LIMIT", "100")),
            rate_window_s=float(env.get("RATE_WINDOW_S", "60")),
            session_ttl_s=float(env.get("SESSION_TTL_S", "1800")),
            idempotency_ttl_s=float(env.get("IDEMPOTENCY_TTL_S", "86400")),
            redis_timeout_s=float(env.get("REDIS_TIMEOUT_S", "1.0")),
        )
