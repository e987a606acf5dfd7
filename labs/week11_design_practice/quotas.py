"""Per-tier quotas per tenant, on week 05's token bucket, told to the client in headers.

Your task:

* :meth:`Quotas.check` — one decision from the tier's bucket, keyed on the **tenant** (every key
  of a tenant shares its quota; no tenant spends another's). An unknown tier raises
  :class:`UnknownTier`.
* :func:`rate_limit_headers` — always ``RateLimit-Limit`` (``decision.limit``),
  ``RateLimit-Remaining`` (at least 0) and ``RateLimit-Reset`` (``ceil(reset_after_s)``); on a
  refusal also ``Retry-After`` = ``limiter.retry_after_header(decision)`` (whole seconds, ≥ 1).

``limiter.py`` is given: week 05's token bucket, async, with ``retry_after_s``/``reset_after_s``.
Read weeks/11-design-practice/README.md, section 'Quotas per tier'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio as redis

from .limiter import Decision, TokenBucketLimiter

SECTION = "see weeks/11-design-practice/README.md, section 'Quotas per tier'"


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
        raise NotImplementedError(f"Quotas.check — {SECTION}")


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """``RateLimit-Limit``/``-Remaining``/``-Reset`` always; ``Retry-After`` on a refusal."""
    raise NotImplementedError(f"rate_limit_headers — {SECTION}")
