"""The slow work, and the durable queue it travels on.

:func:`deliver` (given) stands for a call to a slow external provider: it waits
``DELIVERY_DELAY_S`` and records the delivery. It runs either in the API process (FastAPI
``BackgroundTasks``) or in a worker process (RQ) — what differs is what happens to it when the
API process dies.

Your task (lesson: weeks/02-fastapi/README.md, section 'Background work'): ``get_queue`` and
``enqueue_delivery``.
"""

from __future__ import annotations

import logging
import time

from rq import Queue
from sqlalchemy.dialects.postgresql import insert

from .db import engine_for
from .models import Delivery
from .settings import Settings, get_settings

log = logging.getLogger("week02.tasks")
TODO = "see weeks/02-fastapi/README.md, section 'Background work'"


def deliver(delivery_id: str, user_id: int, message: str, via: str, settings: Settings | None = None) -> None:
    """Deliver one notification. Idempotent: a queue may run a job twice, the row appears once."""
    settings = settings or get_settings()  # in the worker: configured by its own environment
    time.sleep(settings.delivery_delay_s)
    statement = insert(Delivery).values(id=delivery_id, user_id=user_id, message=message, via=via)
    with engine_for(settings.database_url).begin() as conn:
        conn.execute(statement.on_conflict_do_nothing(index_elements=["id"]))
    log.info("delivered %s via %s", delivery_id, via)


def get_queue(settings: Settings) -> Queue:
    """The RQ queue named ``settings.queue_name`` on ``settings.redis_url``."""
    raise NotImplementedError(TODO)


def enqueue_delivery(queue: Queue, delivery_id: str, user_id: int, message: str) -> str:
    """Enqueue ``deliver(delivery_id, user_id, message, "queue")``; return the job id.

    Once this returns, the work is in Redis and outlives this process. Consider a job id derived
    from ``delivery_id`` (so the job can be looked up later) and ``rq.Retry`` for a flaky provider.
    """
    raise NotImplementedError(TODO)
