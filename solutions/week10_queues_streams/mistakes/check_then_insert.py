"""MISTAKE check_then_insert — checks whether the event was processed, then applies it and records
it — with no unique constraint behind the record. Sequential redeliveries are caught; concurrent
duplicates all see 'not processed yet' before any of them commits, and all apply the effect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import psycopg

# Which events each consuming service (a consumer group: "billing", "emails") has applied.
PROCESSED_SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text NOT NULL,
    event_id     text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
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
            "SELECT 1 FROM processed_events WHERE consumer = %s AND event_id = %s", (consumer, event_id))
        if await cursor.fetchone():
            return False
        await effect(conn)
        await conn.execute("INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s)",
                           (consumer, event_id))
    return True
