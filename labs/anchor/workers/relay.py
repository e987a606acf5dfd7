"""The relay: accepted messages (outbox rows) become deliveries, and delivery ids go on the stream.

Write it (week 14). One loop, one transaction per batch: lock up to ``relay_batch_size`` outbox
rows (``FOR UPDATE SKIP LOCKED``, so several relays share the work); insert one delivery per
matching endpoint (``filter_types`` NULL or containing the event type; ``pending``, or
``skipped`` when the endpoint is disabled; ``ON CONFLICT (message_id, endpoint_id) DO NOTHING``;
``enqueued_at = now()``); XADD each pending one to ``STREAM`` with ``delivery_id``,
``message_id`` and ``ingested_at`` (the message's created_at, epoch seconds); delete the outbox
rows; commit. XADD before COMMIT. Log ``"relay ready"`` once the loop runs.

Run as ``python -m anchor.workers.relay``.
"""

from __future__ import annotations

import asyncio

from . import Clients, run


async def relay_loop(clients: Clients, stopping: asyncio.Event) -> None:
    """Batches back to back while there is work; ``relay_idle_s`` naps when the outbox is empty."""
    raise NotImplementedError("write it: see weeks/14-anchor-jobs/README.md, section 'The relay'")


if __name__ == "__main__":
    run("relay", relay_loop)
