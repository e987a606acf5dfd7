"""The queue worker: ``python -m labs.week02_fastapi.worker``.

Your task (lesson: weeks/02-fastapi/README.md, section 'Background work'): run an RQ worker on
the queue ``tasks.get_queue(get_settings())`` until it is told to stop. Settings come from the
same environment variables as the API (``REDIS_URL``, ``DATABASE_URL``).
"""

from __future__ import annotations


def main() -> None:
    """Configure logging, build the queue, and ``rq.Worker([...]).work()`` on it."""
    raise NotImplementedError("see weeks/02-fastapi/README.md, section 'Background work'")


if __name__ == "__main__":
    main()
