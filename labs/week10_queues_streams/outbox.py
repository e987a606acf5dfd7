"""The transactional outbox: a database write and its event commit together, a relay publishes.

Writing to PostgreSQL and then publishing to Redis is two systems and no transaction: a crash
between the commit and the publish loses the event for good (the notebook counts how many).
The outbox makes it one write: the event is a row, inserted in the same transaction as the
business change, so both exist or neither does. A relay then moves unpublished rows to the
stream. Your task, :func:`add_event` and :func:`relay_batch`, so that:

* it locks a batch with ``FOR UPDATE SKIP LOCKED`` — several relays at once take disjoint
  batches, and none waits for another;
* it publishes every event of the batch, *then* marks them published and commits — a relay that
  dies in between leaves its rows unmarked (its transaction rolls back, its locks go) and the next
  run publishes them again: at-least-once, never lost.

Connections are ``psycopg.AsyncConnection`` objects in autocommit mode, owned by the caller.
Read weeks/10-queues-streams/README.md, section 'The transactional outbox'.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg

# Given: the outbox table. ``published_at`` is NULL until a relay has published the row.
OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id           bigserial PRIMARY KEY,
    key          text NOT NULL,
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
"""


@dataclass(frozen=True)
class OutboxEvent:
    """One outbox row: ``key`` orders and partitions (an order id, an account id), ``type`` names it."""

    id: int
    key: str
    type: str
    payload: dict[str, Any]

    def fields(self) -> dict[str, str]:
        """The event as a stream message's fields; ``event_id`` is what consumers deduplicate on."""
        return {"event_id": str(self.id), "key": self.key, "type": self.type,
                "payload": json.dumps(self.payload, sort_keys=True)}


Publish = Callable[[OutboxEvent], Awaitable[object]]
LESSON = "see weeks/10-queues-streams/README.md, section"


async def ensure_schema(conn: psycopg.AsyncConnection) -> None:
    """Given: create the outbox table if it is missing."""
    await conn.execute(OUTBOX_SCHEMA)


async def add_event(conn: psycopg.AsyncConnection, *, key: str, type: str, payload: dict[str, Any]) -> int:
    """Insert an event into the outbox inside the caller's open transaction; return its id.

    The caller writes ``async with conn.transaction(): <business write>; await add_event(…)``.
    Do not commit (and do not open a connection of your own): the caller's transaction decides,
    so the event exists exactly when the business write it describes does — a rolled-back order
    leaves no event. ``payload`` is stored as ``jsonb`` (``psycopg.types.json.Jsonb``).
    """
    raise NotImplementedError(f"add_event — {LESSON} 'The transactional outbox'")


async def relay_batch(conn: psycopg.AsyncConnection, publish: Publish, *, batch_size: int = 100) -> int:
    """Publish up to ``batch_size`` unpublished events, oldest first, and mark them; return how many.

    In one transaction (``async with conn.transaction()``):

    * select the oldest unpublished rows (``ORDER BY id LIMIT batch_size``) and lock them so that
      several relays running at once take *different* rows and none waits for another;
    * ``await publish(OutboxEvent(id, key, type, payload))`` for each, in id order;
    * then mark them published (``published_at = now()``), and commit.

    If ``publish`` raises — or the process dies — nothing is marked: the next run publishes the
    whole batch again (at-least-once; never lost). 25 events, ``batch_size=10``: 10, 10, 5, 0.
    """
    raise NotImplementedError(f"relay_batch — {LESSON} 'The relay'")


async def run_relay(conn: psycopg.AsyncConnection, publish: Publish, *, batch_size: int = 100,
                    idle_sleep_s: float = 0.05, stop: asyncio.Event | None = None) -> None:
    """Given: the relay process's loop — batches back to back while there is work, a nap when not."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        if await relay_batch(conn, publish, batch_size=batch_size) == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle_sleep_s)
