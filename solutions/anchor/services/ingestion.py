"""Ingestion: a message is accepted only when it and its outbox row commit in one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..core.ids import new_id
from ..models import Message, Outbox


def insert_message(session: AsyncSession, *, tenant_id: str, app_id: str, event_type: str,
                   payload: dict[str, Any], event_id: str | None = None,
                   channels: list[str] | None = None) -> Message:
    """Add the message and its outbox row to the caller's transaction (the caller commits)."""
    message = Message(id=new_id("msg"), tenant_id=tenant_id, app_id=app_id, event_id=event_id,
                      event_type=event_type, payload=payload, channels=channels)
    session.add(message)
    session.add(Outbox(message_id=message.id))
    return message
