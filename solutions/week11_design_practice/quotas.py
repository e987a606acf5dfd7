"""Per-tier quotas per tenant, on week 05's token bucket, told to the client in headers.

The bucket's key is the *tenant*: every key a tenant holds draws from one quota (issuing a new
key must not reset it), and no tenant can spend another's. The tier only chooses the bucket's
size and refill rate. Every answer says where the client stands (``RateLimit-*``); a refusal
also says when to come back (``Retry-After``, whole seconds, at least 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio as redis

from .limiter import Decision, TokenBucketLimiter, retry_after_header


@dataclass(frozen=True)
class Tier:
    name: str
    burst: int  # requests allowed at once
    refill_per_second: float  # sustained requests per second


DEFAULT_TIERS: dict[str, Tier] = {
    "free": Tier("free", burst=10, refill_per_second=1.0),
    "pro": Tier("pro", burst=100, refill_per_second=20.0),
}


class UnknownTier(LookupError):
    """A key names a tier the service does not offer: a configuration bug, not the client's."""


class Quotas:
    """``await quotas.check(tenant_id, tier)`` → a :class:`Decision`; one Redis round trip."""

    def __init__(self, client: redis.Redis, tiers: Mapping[str, Tier], *,
                 namespace: str = "quota") -> None:
        self.tiers = dict(tiers)
        self._limiters = {
            name: TokenBucketLimiter(client, capacity=tier.burst, refill_per_second=tier.refill_per_second,
                                     namespace=f"{namespace}:{name}")
            for name, tier in self.tiers.items()}

    async def check(self, tenant_id: str, tier: str, *, now: float | None = None) -> Decision:
        try:
            limiter = self._limiters[tier]
        except KeyError as exc:
            raise UnknownTier(f"no tier {tier!r}; tiers are {sorted(self.tiers)}") from exc
        return await limiter.hit(tenant_id, now=now)


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """``RateLimit-Limit``/``-Remaining``/``-Reset`` always; ``Retry-After`` on a refusal."""
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(max(0, decision.remaining)),
        "RateLimit-Reset": str(math.ceil(decision.reset_after_s)),
    }
    if not decision.allowed:
        headers["Retry-After"] = retry_after_header(decision)
    return headers
