"""A Redis-list worker that finishes the job in hand before it exits on SIGTERM.

Queue layout (any producer can use it):

* ``<queue>`` — a list of JSON jobs ``{"id": "...", "seconds": 1.5}``; producers ``LPUSH``;
* ``<queue>:processing`` — the job being worked on; ``BLMOVE`` moves it here atomically, so a
  worker killed with SIGKILL leaves it where a janitor can find it instead of losing it;
* ``<queue>:status`` — a hash: job id → ``running`` | ``done``.

SIGTERM only sets a flag. The loop checks it *between* jobs: the current job completes and is
marked done, nothing new is taken, and the process exits 0. Jobs still queued stay queued for
the next worker.

    python -m labs.week07_reliability.worker --redis-url redis://127.0.0.1:6379/0 --queue jobs
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from types import FrameType

import redis
import structlog

from .logs import configure_logging

log = structlog.get_logger("worker")


def perform(job: dict[str, object]) -> None:
    """The work itself; here a stand-in for a slow call (an email, a payment, a webhook)."""
    time.sleep(float(job["seconds"]))  # type: ignore[arg-type]


class Worker:
    def __init__(self, client: redis.Redis, queue: str, *, poll_timeout_s: float = 0.5) -> None:
        self.client = client
        self.queue = queue
        self.processing = f"{queue}:processing"
        self.status = f"{queue}:status"
        self.poll_timeout_s = poll_timeout_s  # also the longest an idle worker takes to notice a stop
        self.stopping = threading.Event()

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        """Signal handler: never raises, never exits — the loop decides when it is safe to stop."""
        log.info("stop requested", signal=signal.Signals(signum).name)
        self.stopping.set()

    def run(self) -> int:
        """Process jobs until a stop is requested; return how many were completed."""
        done = 0
        while not self.stopping.is_set():
            raw = self.client.blmove(self.queue, self.processing, self.poll_timeout_s, "RIGHT", "LEFT")
            if raw is not None:
                self.process(raw)
                done += 1
        return done

    def process(self, raw: str) -> None:
        job = json.loads(raw)
        self.client.hset(self.status, job["id"], "running")
        log.info("job started", job_id=job["id"])
        perform(job)
        # Mark done and release in one transaction: never "done" yet still in processing.
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.status, job["id"], "done")
            pipe.lrem(self.processing, 1, raw)
            pipe.execute()
        log.info("job done", job_id=job["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.week07_reliability.worker")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--queue", default="jobs")
    args = parser.parse_args(argv)
    configure_logging()
    worker = Worker(redis.Redis.from_url(args.redis_url, decode_responses=True), args.queue)
    signal.signal(signal.SIGTERM, worker.request_stop)
    signal.signal(signal.SIGINT, worker.request_stop)
    log.info("worker ready", queue=args.queue)
    completed = worker.run()
    log.info("worker stopped", completed=completed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
