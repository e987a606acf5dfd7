"""Operational events: the service tells a tenant about its own endpoints, as webhooks.

An endpoint disabled, an endpoint recovered, a message that ran out of attempts — a tenant wants
these where it already listens, so they are ordinary messages in the tenant's *operational*
application (created with the tenant, uid ``operational``), delivered to whatever endpoints the
tenant registered there, signed and retried like any other. Svix's names and payload shapes.

``emit`` adds the message and its outbox row to the caller's transaction: the event exists exactly
when the state change that caused it commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Application, Message
from .ingestion import insert_message

ATTEMPT_EXHAUSTED = "message.attempt.exhausted"
ENDPOINT_DISABLED = "endpoint.disabled"
ENDPOINT_RECOVERED = "endpoint.recovered"


async def emit(session: AsyncSession, tenant_id: str, event_type: str,
               payload: dict[str, Any]) -> Message | None:
    """Queue ``event_type`` for the tenant's operational application; ``None`` if it has none."""
    app_id = await session.scalar(select(Application.id).where(
        Application.tenant_id == tenant_id, Application.operational.is_(True)).limit(1))
    if app_id is None:
        return None
    return insert_message(session, tenant_id=tenant_id, app_id=app_id, event_type=event_type,
                          payload={"type": event_type, "data": payload})
