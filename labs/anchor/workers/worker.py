"""The worker: reads delivery ids off the stream, claims each in PostgreSQL, attempts it, records it.

Write it (week 14). Up to ``worker_concurrency`` deliveries in flight (asyncio tasks):

1. XREADGROUP ``GROUP`` on ``STREAM``; every second, XAUTOCLAIM entries idle longer than
   ``claim_timeout_s`` (an entry handled ``max_stream_deliveries`` times goes to
   ``DEAD_LETTERS`` and its delivery fails, with the reason in the attempt log);
2. claim in PostgreSQL — the truth: ``UPDATE deliveries SET lease_until = now() + claim_timeout_s,
   attempts = attempts + 1 WHERE id = … AND status = 'pending' AND next_attempt_at <= now() AND
   (lease_until IS NULL OR lease_until < now()) RETURNING …``; no row → ack, move on;
3. disabled meanwhile → ``skipped``; rate limit, concurrency cap or open breaker → put back
   (``attempts - 1``, due after the wait, lease cleared): not an attempt;
4. sign (``signing.sign_headers``), send (``delivery.Sender``), then in one transaction the
   attempt row, the delivery's new state (``retry_policy.next_delay_s``), ``disabling.apply``,
   ``message.attempt.exhausted`` when out of attempts — and only then XACK;
5. metrics: ``INGEST_TO_ATTEMPT`` (first attempts), ``ATTEMPTS`` by outcome.

Log ``"worker ready"`` once the loop runs; on SIGTERM stop reading and let in-flight finish.

Run as ``python -m anchor.workers.worker``.
"""

from __future__ import annotations

import asyncio

from . import Clients, run


async def worker_loop(clients: Clients, stopping: asyncio.Event) -> None:
    raise NotImplementedError("write it: see weeks/14-anchor-jobs/README.md, section 'The worker loop'")


if __name__ == "__main__":
    run("worker", worker_loop)
