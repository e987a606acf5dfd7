"""The relay: accepted messages (outbox rows) become deliveries, and delivery ids go on the stream.

One loop, one transaction per batch: lock up to ``relay_batch_size`` outbox rows (``FOR UPDATE
SKIP LOCKED``, so several relays share the work without waiting on each other), insert one
delivery per matching endpoint (``pending``, or ``skipped`` when the endpoint is disabled — kept,
so it can be recovered), ``XADD`` the pending ones in one pipelined round trip, delete the outbox
rows, commit.

``XADD`` comes before ``COMMIT``. A crash between them leaves stream entries whose delivery rows
never committed — a worker finds no row, acks and moves on — while the outbox rows are still there
and the next batch redoes them. The other order would lose messages: committed deliveries that
no stream entry announces until the scheduler's slow sweep.

Run as ``python -m anchor.workers.relay``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.ids import ulid
from ..core.redis import DEAD_LETTERS, GROUP, STREAM
from ..services.streams import StreamQueue
from . import Clients, pause, run

log = structlog.get_logger()

ERROR_BACKOFF_S = 1.0

_CLAIM_OUTBOX = text("""
    SELECT o.id, m.id AS message_id, m.tenant_id, m.app_id, m.event_type, m.channels, m.created_at
    FROM outbox o JOIN messages m ON m.id = o.message_id
    ORDER BY o.id LIMIT :limit FOR UPDATE OF o SKIP LOCKED""")
_ENDPOINTS = text("""
    SELECT id, app_id, filter_types, channels, disabled FROM endpoints WHERE app_id = ANY(:app_ids)""")
_INSERT_DELIVERIES = text("""
    INSERT INTO deliveries (id, tenant_id, app_id, message_id, endpoint_id, status, enqueued_at)
    SELECT d.id, d.tenant_id, d.app_id, d.message_id, d.endpoint_id, d.status,
           CASE WHEN d.status = 'pending' THEN now() END
    FROM unnest(CAST(:ids AS text[]), CAST(:tenant_ids AS text[]), CAST(:app_ids AS text[]),
                CAST(:message_ids AS text[]), CAST(:endpoint_ids AS text[]), CAST(:statuses AS text[]))
         AS d(id, tenant_id, app_id, message_id, endpoint_id, status)
    ON CONFLICT (message_id, endpoint_id) DO NOTHING
    RETURNING id, message_id, status""")
_DELETE_OUTBOX = text("DELETE FROM outbox WHERE id = ANY(:ids)")


class MonotonicIds:
    """``dlv_`` ids that increase strictly in the order they are made, even within a millisecond.

    A ULID's random tail orders two ids of the same millisecond by chance; an ordered (FIFO)
    endpoint takes its deliveries in id order, so the relay's ids must follow the outbox order.
    """

    def __init__(self) -> None:
        self._last = ""

    def next(self) -> str:
        candidate = ulid()
        if candidate <= self._last:
            candidate = _successor(self._last)
        self._last = candidate
        return f"dlv_{candidate}"


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _successor(value: str) -> str:
    """The next ULID string after ``value`` (Crockford base32 plus one)."""
    number = 0
    for char in value:
        number = number * 32 + _CROCKFORD.index(char)
    number += 1
    return "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(125, -1, -5))


def matches(filter_types: Sequence[str] | None, endpoint_channels: Sequence[str] | None,
            event_type: str, message_channels: Sequence[str] | None) -> bool:
    """Whether an endpoint subscribes to a message: its type filter, then channels when both have them."""
    if filter_types and event_type not in filter_types:
        return False
    if endpoint_channels and message_channels:
        return not set(endpoint_channels).isdisjoint(message_channels)
    return True


async def relay_batch(sessions: async_sessionmaker[AsyncSession], queue: StreamQueue, *,
                      batch_size: int, ids: MonotonicIds) -> int:
    """Move one batch of outbox rows to deliveries and the stream; how many outbox rows it took."""
    async with sessions() as session, session.begin():
        outbox = (await session.execute(_CLAIM_OUTBOX, {"limit": batch_size})).all()
        if not outbox:
            return 0
        app_ids = sorted({row.app_id for row in outbox})
        endpoints = (await session.execute(_ENDPOINTS, {"app_ids": app_ids})).all()
        by_app: dict[str, list[tuple[str, Sequence[str] | None, Sequence[str] | None, bool]]] = {}
        for endpoint in sorted(endpoints, key=lambda e: e.id):
            by_app.setdefault(endpoint.app_id, []).append(
                (endpoint.id, endpoint.filter_types, endpoint.channels, endpoint.disabled))
        columns: dict[str, list[str]] = {key: [] for key in (
            "ids", "tenant_ids", "app_ids", "message_ids", "endpoint_ids", "statuses")}
        ingested: dict[str, datetime] = {}
        for row in outbox:
            ingested[row.message_id] = row.created_at
            for endpoint_id, filter_types, channels, disabled in by_app.get(row.app_id, []):
                if matches(filter_types, channels, row.event_type, row.channels):
                    for key, value in zip(columns, (ids.next(), row.tenant_id, row.app_id, row.message_id,
                                                    endpoint_id, "skipped" if disabled else "pending"),
                                          strict=True):
                        columns[key].append(value)
        if columns["ids"]:
            inserted = (await session.execute(_INSERT_DELIVERIES, columns)).all()
            pending = sorted((row for row in inserted if row.status == "pending"), key=lambda r: r.id)
            await queue.publish_many({
                "delivery_id": row.id, "message_id": row.message_id,
                "ingested_at": f"{ingested[row.message_id].timestamp():.6f}"} for row in pending)
        await session.execute(_DELETE_OUTBOX, {"ids": [row.id for row in outbox]})
    return len(outbox)


async def relay_loop(clients: Clients, stopping: asyncio.Event) -> None:
    """Batches back to back while there is work; ``relay_idle_s`` naps when the outbox is empty."""
    settings = clients.settings
    queue = StreamQueue(clients.redis, STREAM, GROUP, dead_letter_stream=DEAD_LETTERS)
    await queue.ensure_group()
    ids = MonotonicIds()
    log.info("relay ready")
    while not stopping.is_set():
        try:
            moved = await relay_batch(clients.sessions, queue, batch_size=settings.relay_batch_size, ids=ids)
        except Exception as exc:  # PostgreSQL or Redis away: log, wait, try again
            log.warning("relay batch failed", error=f"{type(exc).__name__}: {exc}")
            await pause(stopping, ERROR_BACKOFF_S)
            continue
        if moved < settings.relay_batch_size:
            await pause(stopping, settings.relay_idle_s)


if __name__ == "__main__":
    run("relay", relay_loop)
