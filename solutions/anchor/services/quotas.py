"""Per-tenant ingest quotas: week 05's token bucket on Redis, one round trip per message.

A tenant may burst ``ingest_burst`` messages and sustain ``ingest_rate_per_s``. An application
with its own ``rateLimit`` gets its own bucket at that rate (and a burst of one second's worth),
so one noisy customer of a tenant cannot use up the tenant's whole quota. Every answer carries the
IETF ``RateLimit-*`` headers; a refusal also carries ``Retry-After`` (whole seconds, at least 1).
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis

from ..core.config import Settings
from .token_bucket import Decision, TokenBucket


class Quotas:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self._bucket = TokenBucket(client, namespace="anchor:quota")
        self._rate_per_s = settings.ingest_rate_per_s
        self._burst = settings.ingest_burst

    async def take(self, *, tenant_id: str, app_id: str, app_rate_limit: int | None) -> Decision:
        """Spend one message of the quota that applies to ``app_id``'s messages."""
        if app_rate_limit is not None:
            return await self._bucket.hit(f"{tenant_id}:{app_id}", capacity=max(1, app_rate_limit),
                                          refill_per_second=float(app_rate_limit))
        return await self._bucket.hit(tenant_id, capacity=self._burst, refill_per_second=self._rate_per_s)


def retry_after_header(retry_after_s: float) -> str:
    """``Retry-After`` in whole seconds, never 0 (a client told "0" retries at once, in a loop)."""
    return str(max(1, math.ceil(retry_after_s)))


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """The IETF ``RateLimit-Limit/-Remaining/-Reset`` headers (and ``Retry-After`` on a refusal)."""
    headers = {"RateLimit-Limit": str(decision.limit), "RateLimit-Remaining": str(decision.remaining),
               "RateLimit-Reset": str(math.ceil(decision.reset_after_s))}
    if not decision.allowed:
        headers["Retry-After"] = retry_after_header(decision.retry_after_s)
    return headers
