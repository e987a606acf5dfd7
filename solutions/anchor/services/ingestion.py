"""Ingestion: a message is accepted only when it and its outbox row commit in one transaction.

Writing the message and "send it" in one transaction is the transactional outbox: there is no
moment where the message is stored but nobody will deliver it (a crash before COMMIT loses both,
and the client got no 202), nor one where it is queued but not stored. The relay turns outbox
rows into deliveries later (week 14).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.ids import new_id
from ..models import Message, Outbox

UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"


class DuplicateEventId(Exception):
    """The application already has a message with this ``eventId``; ``message_id`` is that one."""

    def __init__(self, event_id: str, message_id: str | None) -> None:
        super().__init__(f"eventId {event_id!r} was already used by message {message_id}")
        self.event_id = event_id
        self.message_id = message_id


class ApplicationGone(Exception):
    """The application was deleted between the lookup and the insert."""


def insert_message(session: AsyncSession, *, tenant_id: str, app_id: str, event_type: str,
                   payload: dict[str, Any], event_id: str | None = None,
                   channels: list[str] | None = None) -> Message:
    """Add the message and its outbox row to the caller's transaction (the caller commits)."""
    message = Message(id=new_id("msg"), tenant_id=tenant_id, app_id=app_id, event_id=event_id,
                      event_type=event_type, payload=payload, channels=channels)
    session.add(message)
    session.add(Outbox(message_id=message.id))
    return message


async def ingest(session: AsyncSession, *, tenant_id: str, app_id: str, event_type: str,
                 payload: dict[str, Any], event_id: str | None = None,
                 channels: list[str] | None = None) -> Message:
    """Store one message and its outbox row and COMMIT: two INSERTs, one round trip to commit.

    A repeated ``event_id`` for the app violates the unique constraint at COMMIT; the whole
    transaction (outbox row too) rolls back and :class:`DuplicateEventId` names the earlier message.
    """
    message = insert_message(session, tenant_id=tenant_id, app_id=app_id, event_type=event_type,
                             payload=payload, event_id=event_id, channels=channels)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate == UNIQUE_VIOLATION and event_id is not None:
            existing = await session.scalar(select(Message.id).where(
                Message.app_id == app_id, Message.event_id == event_id))
            raise DuplicateEventId(event_id, existing) from exc
        if sqlstate == FOREIGN_KEY_VIOLATION:
            raise ApplicationGone(app_id) from exc
        raise
    return message
