"""A Redis-list worker that finishes the job in hand before it exits on SIGTERM.

Queue layout (the tests use it directly):

* ``<queue>`` — a list of JSON jobs ``{"id": "...", "seconds": 1.5}``; producers ``LPUSH``,
  the worker takes from the right (FIFO);
* ``<queue>:processing`` — the job being worked on, moved there atomically (``BLMOVE``);
* ``<queue>:status`` — a hash: job id → ``"running"`` while it runs, ``"done"`` when finished.

    python -m labs.week07_reliability.worker --redis-url redis://127.0.0.1:6379/0 --queue jobs

Your task (see weeks/07-reliability/README.md, section 'Graceful shutdown'):
implement the methods marked below and ``main``.
"""

from __future__ import annotations

import sys
import threading
import time
from types import FrameType

import redis

LESSON = "see weeks/07-reliability/README.md, section 'Graceful shutdown'"


def perform(job: dict[str, object]) -> None:
    """The work itself (given); here a stand-in for a slow call: an email, a payment, a webhook."""
    time.sleep(float(job["seconds"]))  # type: ignore[arg-type]


class Worker:
    def __init__(self, client: redis.Redis, queue: str, *, poll_timeout_s: float = 0.5) -> None:
        self.client = client  # decode_responses=True
        self.queue = queue
        self.processing = f"{queue}:processing"
        self.status = f"{queue}:status"
        self.poll_timeout_s = poll_timeout_s  # also the longest an idle worker takes to notice a stop
        self.stopping = threading.Event()

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        """The SIGTERM/SIGINT handler: record that a stop was requested. Never raise or exit here."""
        raise NotImplementedError(LESSON)

    def run(self) -> int:
        """Until a stop is requested: move the next job to ``processing`` (block at most
        ``poll_timeout_s`` seconds) and process it. Return how many jobs were completed."""
        raise NotImplementedError(LESSON)

    def process(self, raw: str) -> None:
        """Mark the job running, ``perform`` it, then — in one transaction — mark it done and
        remove it from ``processing``."""
        raise NotImplementedError(LESSON)


def main(argv: list[str] | None = None) -> int:
    """Parse ``--redis-url`` and ``--queue`` (default ``jobs``), configure logging, install the
    signal handlers, log ``worker ready``, run, and return 0 once the loop has stopped."""
    raise NotImplementedError(LESSON)


if __name__ == "__main__":
    sys.exit(main())
