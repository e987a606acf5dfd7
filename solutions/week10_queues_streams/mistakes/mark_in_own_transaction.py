"""MISTAKE mark_in_own_transaction — records the event id in its own transaction, before the
effect's. When the effect fails (or the process dies in it), the id is already committed: the
redelivery is skipped as a duplicate and the effect is never applied.
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
    cursor = await conn.execute(  # autocommit: the claim is committed on its own, at once
        "INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (consumer, event_id))
    if cursor.rowcount == 0:
        return False
    async with conn.transaction():
        await effect(conn)
    return True
