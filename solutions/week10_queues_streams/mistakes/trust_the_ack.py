"""MISTAKE trust_the_ack — records nothing and trusts the queue to deliver each event once. Redis
Streams, like every broker, delivers at least once: a consumer killed after its effect and
before its ack gets the message delivered again, and the effect is applied twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import psycopg

# Which events each consuming service (a consumer group: "billing", "emails") has applied.
PROCESSED_SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text NOT NULL,
    event_id     text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
"""

Effect = Callable[[psycopg.AsyncConnection], Awaitable[None]]


async def ensure_schema(conn: psycopg.AsyncConnection) -> None:
    """Create the table of processed event ids (with its unique constraint) if it is missing."""
    await conn.execute(PROCESSED_SCHEMA)


async def apply_once(conn: psycopg.AsyncConnection, consumer: str, event_id: str, effect: Effect) -> bool:
    """Run ``await effect(conn)`` unless ``consumer`` already applied ``event_id``; True if it ran.

    The id is claimed first (``INSERT … ON CONFLICT DO NOTHING``): a concurrent duplicate waits on
    the unique index until this transaction ends, then finds the id taken. If ``effect`` raises,
    the transaction — claim included — rolls back and the exception propagates, so a redelivery
    applies the event.
    """
    async with conn.transaction():  # the queue acks each message once, so each arrives once
        await effect(conn)
    return True
