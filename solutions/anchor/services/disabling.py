"""When to stop delivering to an endpoint, and telling its tenant.

Two rules, each ending in ``endpoint.disabled`` for the tenant's operational application:

* **410 Gone** — the receiver says the URL is gone for good: disable at once (reason ``gone``).
  Retrying a 410 for days is noise for both sides; the Standard Webhooks spec asks senders to stop.
* **Sustained failure** (Svix's time rule) — ``failing_since`` is set on the first failure after a
  success and cleared by the next success; once ``now - failing_since >= scaled_disable_after_s``
  (five days, compressed in tests) with no success in between, disable (reason ``failing``). Time,
  not a count: a busy endpoint fails a hundred times in a minute of deploy, a quiet one in a week.

A success after failures clears ``failing_since`` and emits ``endpoint.recovered``. Deliveries of
the operational application itself emit nothing (an event about the events' endpoint would loop).
Messages that arrive while an endpoint is disabled are kept (as ``skipped`` deliveries) and can be
recovered once it is enabled again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from . import events

GONE, FAILING = "gone", "failing"


@dataclass(frozen=True)
class EndpointResult:
    """The last attempt's verdict for one endpoint in a batch of recorded attempts."""

    endpoint_id: str
    succeeded: bool
    gone: bool = False  # the receiver answered 410


async def apply(session: AsyncSession, results: Iterable[EndpointResult], *,
                disable_after_s: float, operational_endpoints: Mapping[str, bool]) -> list[str]:
    """Update ``failing_since``/``disabled`` for ``results`` in the caller's transaction; emit events.

    ``operational_endpoints`` says which endpoints belong to an operational application (they emit
    nothing). Returns the ids of the endpoints disabled by this call.
    """
    by_endpoint = {result.endpoint_id: result for result in results}
    recovered_ids = [ep for ep, result in by_endpoint.items() if result.succeeded]
    failed_ids = [ep for ep, result in by_endpoint.items() if not result.succeeded]
    if recovered_ids:
        rows = await session.execute(text(
            "UPDATE endpoints SET failing_since = NULL WHERE id = ANY(:ids) AND failing_since IS NOT NULL "
            "RETURNING id, tenant_id, app_id"), {"ids": recovered_ids})
        for endpoint_id, tenant_id, app_id in rows.all():
            if not operational_endpoints.get(endpoint_id, False):
                await events.emit(session, tenant_id, events.ENDPOINT_RECOVERED,
                                  {"appId": app_id, "endpointId": endpoint_id})
    if not failed_ids:
        return []
    # Only the first failure writes the row; later ones read it (no churn on a failing endpoint).
    await session.execute(text("UPDATE endpoints SET failing_since = now() WHERE id = ANY(:ids) "
                               "AND failing_since IS NULL"), {"ids": failed_ids})
    rows = await session.execute(text(
        "SELECT id, failing_since, now() - failing_since >= make_interval(secs => :after_s) "
        "FROM endpoints WHERE id = ANY(:ids) AND NOT disabled"),
        {"ids": failed_ids, "after_s": disable_after_s})
    disabled: list[str] = []
    for endpoint_id, failing_since, overdue in rows.all():
        reason = GONE if by_endpoint[endpoint_id].gone else FAILING if overdue else None
        if reason is not None and await disable(session, endpoint_id, reason, failing_since,
                                                emit=not operational_endpoints.get(endpoint_id, False)):
            disabled.append(endpoint_id)
    return disabled


async def disable(session: AsyncSession, endpoint_id: str, reason: str, failing_since: datetime | None,
                  *, emit: bool = True) -> bool:
    """Disable the endpoint unless it already is (then ``False``: one ``endpoint.disabled`` only)."""
    row = (await session.execute(text(
        "UPDATE endpoints SET disabled = true, disabled_reason = :reason, updated_at = now() "
        "WHERE id = :id AND NOT disabled RETURNING tenant_id, app_id"),
        {"id": endpoint_id, "reason": reason})).first()
    if row is None:
        return False
    if emit:
        await events.emit(session, row.tenant_id, events.ENDPOINT_DISABLED, {
            "appId": row.app_id, "endpointId": endpoint_id, "reason": reason,
            "failSince": failing_since.isoformat() if failing_since else None})
    return True
