"""Logical Redis databases leased to one caller at a time, so parallel tests never share keys.

Works on any Redis URL — the embedded one or ``REDIS_URL`` — and keeps the URL's password.
"""

from __future__ import annotations

import os

from course.credentials import SecretUrl

REDIS_LEASE_S = 15 * 60


def redis_base(url: str) -> str:
    """``redis://[:password@]host:port/3`` → ``redis://[:password@]host:port``."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def allocate_redis_db(server_url: str) -> SecretUrl:
    """A freshly flushed logical Redis database that no other running caller holds.

    Database 0 keeps a round-robin counter and one lease key per database in use (``SET NX``
    with an expiry, so a caller that never releases — a notebook, a killed run — frees its
    database after ``REDIS_LEASE_S``). Parallel test workers and parallel weeks never share
    keys; only when every database is leased (a 16-database managed Redis under heavy
    parallelism) is the next one reused.
    """
    import redis

    with redis.Redis.from_url(server_url) as admin:
        try:
            count = int(admin.config_get("databases").get("databases", 16))
        except redis.ResponseError:  # managed Redis may forbid CONFIG
            count = 16
        usable = max(count - 1, 1)
        for _ in range(usable):
            index = 1 + (int(admin.incr("course:next-db")) % usable)
            if admin.set(f"course:lease:{index}", os.getpid(), nx=True, ex=REDIS_LEASE_S):
                break
        else:
            admin.set(f"course:lease:{index}", os.getpid(), ex=REDIS_LEASE_S)
    url = SecretUrl(f"{redis_base(server_url)}/{index}")
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


def release_redis_db(url: str) -> None:
    """Give a database from :func:`allocate_redis_db` back (its keys are flushed on next use)."""
    import redis

    base, _, index = url.rpartition("/")
    with redis.Redis.from_url(f"{base}/0") as admin:
        admin.delete(f"course:lease:{index}")
