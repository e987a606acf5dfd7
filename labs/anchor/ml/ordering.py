"""Retry ordering for the worker: among deliveries due now, try the ones likely to succeed first.

When a burst of retries comes due at once (an outage ends, the scheduler re-fills the stream after
a Redis restart), the worker's concurrency goes first to endpoints that will answer, instead of
being held for ``http_timeout_s`` by endpoints that are still down. Nothing is dropped or delayed
beyond the batch: it is an order within what is due, and risks are bucketed (to tenths) so that
within a bucket the oldest due delivery still goes first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from .serving import FailureModel, recent_attempts

RISK_BUCKETS = 10


class Due(Protocol):
    """What ordering reads of a delivery (the ``deliveries`` row has both)."""

    @property
    def endpoint_id(self) -> str: ...

    @property
    def next_attempt_at(self) -> datetime: ...


D = TypeVar("D", bound=Due)


def order_by_risk(deliveries: Sequence[D], risks: Mapping[str, float]) -> list[D]:
    """``deliveries`` lowest failure risk first, oldest first within a risk bucket.

    An endpoint without a risk (no model, no history) sorts as 0.5 — neither promoted nor demoted.
    """
    def key(delivery: D) -> tuple[int, datetime]:
        risk = risks.get(delivery.endpoint_id, 0.5)
        return min(int(risk * RISK_BUCKETS), RISK_BUCKETS - 1), delivery.next_attempt_at

    return sorted(deliveries, key=key)


async def endpoint_risks(session: AsyncSession, model: FailureModel | None, endpoint_ids: Sequence[str],
                         *, history_limit: int = 100) -> dict[str, float]:
    """P(next attempt fails) per endpoint from its recent attempts; empty without a model."""
    if model is None or not endpoint_ids:
        return {}
    unique = list(dict.fromkeys(endpoint_ids))
    histories = await recent_attempts(session, unique, history_limit)
    return dict(zip(unique, model.predict_many([histories[e] for e in unique]), strict=True))
