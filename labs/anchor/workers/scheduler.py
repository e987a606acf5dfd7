"""The scheduler: deliveries that are due go back on the stream; the queue's gauges are read.

Write it (week 14). Every ``scheduler_interval_s``: set ``enqueued_at = now()`` on the pending
deliveries that are due (``next_attempt_at <= now()``), not leased (``lease_until`` NULL or
past), and not announced since they became due (``enqueued_at`` NULL, before
``next_attempt_at``, or older than ``claim_timeout_s`` — the stream may have lost it), a batch
at a time with ``FOR UPDATE SKIP LOCKED``, and XADD them; then set the ``STREAM_LAG`` and
``DEAD_LETTERS`` gauges. Log ``"scheduler ready"`` once the loop runs.

Run as ``python -m anchor.workers.scheduler``.
"""

from __future__ import annotations

import asyncio

from . import Clients, run


async def scheduler_loop(clients: Clients, stopping: asyncio.Event) -> None:
    raise NotImplementedError("write it: see weeks/14-anchor-jobs/README.md, section 'The scheduler'")


if __name__ == "__main__":
    run("scheduler", scheduler_loop)
