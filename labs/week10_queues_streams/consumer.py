"""An idempotent consumer: every event's effect applied exactly once, however often it arrives.

A queue that never loses a message must sometimes deliver one twice (a consumer died after its
effect, before its ack; a relay died after its publish, before its mark). Exactly-once is not a
property of the queue; it is what the consumer makes of at-least-once delivery: it records each
processed event id under a unique constraint **in the same transaction as the effect**.
Your task: the constraint in ``PROCESSED_SCHEMA`` and :func:`apply_once`. The
effect and the record commit together or not at all, and a duplicate — sequential or concurrent
— finds the id taken and does nothing.

Connections are ``psycopg.AsyncConnection`` objects in autocommit mode, owned by the caller.
Read weeks/10-queues-streams/README.md, section 'Idempotent consumers'.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import psycopg

# Which events each consuming service (a consumer group: "billing", "emails") has applied.
# Yours to complete: the one constraint that makes a duplicate impossible.
PROCESSED_SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text NOT NULL,
    event_id     text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
"""

Effect = Callable[[psycopg.AsyncConnection], Awaitable[None]]
LESSON = "see weeks/10-queues-streams/README.md, section"


async def ensure_schema(conn: psycopg.AsyncConnection) -> None:
    """Create the table of processed event ids (with its unique constraint) if it is missing."""
    await conn.execute(PROCESSED_SCHEMA)


async def apply_once(conn: psycopg.AsyncConnection, consumer: str, event_id: str, effect: Effect) -> bool:
    """Run ``await effect(conn)`` unless ``consumer`` already applied ``event_id``; True if it ran.

    ``consumer`` names the consuming service (the consumer group: "billing", "emails"), not one
    process: each group applies each event once. Requirements:

    * the effect and the record of ``event_id`` commit in one transaction, or neither does;
    * a redelivered event returns False without running ``effect``;
    * concurrent duplicates (six connections, same event, same moment) apply it exactly once —
      let the unique constraint in ``PROCESSED_SCHEMA`` decide, not a SELECT;
    * if ``effect`` raises, nothing is recorded and the exception propagates, so a redelivery
      applies the event;
    * leave ``conn`` idle (no transaction open) when you return.
    """
    raise NotImplementedError(f"apply_once — {LESSON} 'Idempotent consumers'")
