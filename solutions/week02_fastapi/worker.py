"""The queue worker: ``python -m labs.week02_fastapi.worker``.

It reads the same environment as the API (``REDIS_URL``, ``DATABASE_URL``), takes jobs from the
queue one at a time and runs each in a forked child, so a job that crashes or leaks does not take
the worker with it. SIGTERM lets the current job finish (a warm shutdown) before exiting.
"""

from __future__ import annotations

import logging

from rq import Worker

from .settings import get_settings
from .tasks import get_queue


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    queue = get_queue(get_settings())
    Worker([queue], connection=queue.connection).work(with_scheduler=True)


if __name__ == "__main__":
    main()
