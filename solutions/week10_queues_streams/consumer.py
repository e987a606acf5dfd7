"""An idempotent consumer: every event's effect applied exactly once, however often it arrives.

A queue that never loses a message must sometimes deliver one twice (a consumer died after its
effect, before its ack; a relay died after its publish, before its mark). Exactly-once is not a
property of the queue; it is what the consumer makes of at-least-once delivery: it records each
processed event id under a unique constraint **in the same transaction as the effect**. The
effect and the record commit together or not at all, and a duplicate — sequential or concurrent
— finds the id taken and does nothing.

Connections are ``psycopg.AsyncConnection`` objects in autocommit mode, owned by the caller.
Read weeks/10-queues-streams/README.md, section 'Idempotent consumers'.
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
    async with conn.transaction():
        cursor = await conn.execute(
            "INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (consumer, event_id))
        if cursor.rowcount == 0:
            return False
        await effect(conn)
    return True
