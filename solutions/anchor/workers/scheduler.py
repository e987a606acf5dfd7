"""The scheduler: deliveries that are due go back on the stream; the queue's gauges are read.

Every ``scheduler_interval_s`` it re-enqueues pending deliveries that are due, not leased, and not
already announced since they became due — retries whose back-off has passed, deliveries a worker
put back (rate limit, concurrency cap, open circuit) and resends. A pending delivery enqueued more
than ``claim_timeout_s`` ago is announced again too: its stream entry may have been lost (Redis
restarted empty), so PostgreSQL, the truth, rebuilds the stream. A duplicate entry is harmless —
the worker's claim lets only one attempt through.

Run as ``python -m anchor.workers.scheduler``.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import text

from ..core import metrics
from ..core.redis import DEAD_LETTERS, GROUP, STREAM
from ..services.streams import StreamQueue
from . import Clients, pause, run

log = structlog.get_logger()

DUE_BATCH = 1000

_DUE = text("""
    UPDATE deliveries SET enqueued_at = now()
    WHERE id IN (
        SELECT id FROM deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
          AND (lease_until IS NULL OR lease_until < now())
          AND (enqueued_at IS NULL OR enqueued_at < next_attempt_at
               OR enqueued_at < now() - make_interval(secs => :claim_timeout_s))
        ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING id, message_id""")


async def enqueue_due(clients: Clients, queue: StreamQueue) -> int:
    """One sweep: announce every due delivery (in batches of ``DUE_BATCH``); how many were announced."""
    total = 0
    while True:
        async with clients.sessions() as session, session.begin():
            due = (await session.execute(_DUE, {"claim_timeout_s": clients.settings.claim_timeout_s,
                                                "limit": DUE_BATCH})).all()
            # XADD before COMMIT, as the relay does: a crash between them re-announces, never loses.
            await queue.publish_many({"delivery_id": row.id, "message_id": row.message_id} for row in due)
        total += len(due)
        if len(due) < DUE_BATCH:
            return total


async def read_gauges(clients: Clients) -> None:
    """Stream lag (unread + unacked entries of the workers' group) and the dead-letter depth."""
    try:
        groups = await clients.redis.xinfo_groups(STREAM)
    except Exception:  # no stream yet (or Redis just restarted): no lag to show
        groups = []
    group = next((g for g in groups if g["name"] == GROUP), None)
    if group is not None:
        metrics.STREAM_LAG.set((group.get("lag") or 0) + (group.get("pending") or 0))
    metrics.DEAD_LETTERS.set(await clients.redis.xlen(DEAD_LETTERS))


async def scheduler_loop(clients: Clients, stopping: asyncio.Event) -> None:
    settings = clients.settings
    queue = StreamQueue(clients.redis, STREAM, GROUP, dead_letter_stream=DEAD_LETTERS)
    await queue.ensure_group()
    log.info("scheduler ready")
    while not stopping.is_set():
        try:
            announced = await enqueue_due(clients, queue)
            if announced:
                log.debug("re-enqueued due deliveries", count=announced)
            await read_gauges(clients)
        except Exception as exc:  # a dependency is away: log, try next interval
            log.warning("scheduler sweep failed", error=f"{type(exc).__name__}: {exc}")
        await pause(stopping, settings.scheduler_interval_s)


if __name__ == "__main__":
    run("scheduler", scheduler_loop)
