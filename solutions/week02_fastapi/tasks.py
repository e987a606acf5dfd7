"""The slow work, and the durable queue it travels on.

:func:`deliver` stands for a call to a slow external provider (an e-mail API, a push service):
it waits ``DELIVERY_DELAY_S`` and then records the delivery. The same function runs either in
the API process (FastAPI ``BackgroundTasks``) or in a worker process (RQ) — what differs is
what happens to it when the API process dies.
"""

from __future__ import annotations

import logging
import time

from redis import Redis
from rq import Queue, Retry
from sqlalchemy.dialects.postgresql import insert

from .db import engine_for
from .models import Delivery
from .settings import Settings, get_settings

log = logging.getLogger("week02.tasks")


def deliver(delivery_id: str, user_id: int, message: str, via: str, settings: Settings | None = None) -> None:
    """Deliver one notification. Idempotent: a queue may run a job twice, the row appears once."""
    settings = settings or get_settings()  # in the worker: configured by its own environment
    time.sleep(settings.delivery_delay_s)
    statement = insert(Delivery).values(id=delivery_id, user_id=user_id, message=message, via=via)
    with engine_for(settings.database_url).begin() as conn:
        conn.execute(statement.on_conflict_do_nothing(index_elements=["id"]))
    log.info("delivered %s via %s", delivery_id, via)


def get_queue(settings: Settings) -> Queue:
    """The RQ queue on ``settings.redis_url`` that the API enqueues to and the worker drains."""
    return Queue(settings.queue_name, connection=Redis.from_url(settings.redis_url))


def enqueue_delivery(queue: Queue, delivery_id: str, user_id: int, message: str) -> str:
    """Put the job in Redis *before* answering: once this returns, the work outlives this process."""
    job = queue.enqueue(
        deliver, delivery_id, user_id, message, "queue",
        job_id=f"delivery-{delivery_id}",  # findable later: Job.fetch(f"delivery-{id}", connection=…)
        retry=Retry(max=3, interval=[1, 5, 30]),  # the provider will fail sometimes
        job_timeout=60,
    )
    return job.id
