"""Per-tenant ingest quotas: week 05's token bucket on Redis, one round trip per message.

A tenant may burst ``ingest_burst`` messages and sustain ``ingest_rate_per_s``. An application
with its own ``rateLimit`` gets its own bucket at that rate (and a burst of one second's worth),
so one noisy customer of a tenant cannot use up the tenant's whole quota. Every answer carries the
IETF ``RateLimit-*`` headers; a refusal also carries ``Retry-After`` (whole seconds, at least 1).
"""

from __future__ import annotations

import math  # noqa: F401 — yours to use

import redis.asyncio as aioredis

from ..core.config import Settings
from .token_bucket import Decision, TokenBucket


class Quotas:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self._bucket = TokenBucket(client, namespace="anchor:quota")
        self._rate_per_s = settings.ingest_rate_per_s
        self._burst = settings.ingest_burst

    async def take(self, *, tenant_id: str, app_id: str, app_rate_limit: int | None) -> Decision:
        """Spend one message of the quota that applies to ``app_id``'s messages.

        The tenant's bucket (capacity ``ingest_burst``, refill ``ingest_rate_per_s``), or, when the
        application has ``app_rate_limit``, a bucket of its own at that rate. The given
        :class:`TokenBucket` keeps it in Redis, so every API instance spends from the same one.
        """
        raise NotImplementedError(
            "Quotas.take: see weeks/13-anchor-core/README.md, section 'Quotas'")


def retry_after_header(retry_after_s: float) -> str:
    """``Retry-After`` in whole seconds, never 0: ``max(1, ceil(retry_after_s))``."""
    raise NotImplementedError(
        "retry_after_header: see weeks/13-anchor-core/README.md, section 'Quotas'")


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (whole seconds), and
    ``Retry-After`` when the decision is a refusal."""
    raise NotImplementedError(
        "rate_limit_headers: see weeks/13-anchor-core/README.md, section 'Quotas'")
