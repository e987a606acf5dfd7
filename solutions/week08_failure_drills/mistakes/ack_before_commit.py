"""MISTAKE (ack_before_commit):
write-behind: the 201 goes out before PostgreSQL has committed, so an outage loses acknowledged writes.

What each endpoint does when a dependency is down — the degraded modes, in one place.

* Redis down: reads come from PostgreSQL (slower, still correct); the cache is skipped.
* PostgreSQL down: cached reads are still served; anything that needs PostgreSQL — a cache miss
  or a write — raises ``Unavailable``, which the app answers with 503 and ``Retry-After``.
* A write is acknowledged only after PostgreSQL has committed it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import redis
from sqlalchemy import exc as sa_exc

from . import db
from .breaker import CircuitOpenError
from .deps import Deps
from .errors import Unavailable
from .models import Item, NewItem

T = TypeVar("T")

# Connectivity and timeouts are the dependency's fault: a designed 503. Anything else
# (an IntegrityError, a typo in SQL) is our bug and should stay a loud 500.
DB_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def _with_postgres(deps: Deps, call: Callable[[], T]) -> T:
    """Run ``call`` through the PostgreSQL breaker; outages become ``Unavailable``."""
    breaker = deps.db_breaker
    try:
        return breaker.call(call)
    except CircuitOpenError as exc:
        raise Unavailable("PostgreSQL is unavailable (circuit open)", exc.retry_after_s) from None
    except DB_DOWN as exc:  # refused, timed out, or no pooled connection free in time
        raise Unavailable("PostgreSQL is unavailable",
                          max(deps.settings.retry_after_s, breaker.reset_timeout_s)) from exc


def read_item(deps: Deps, item_id: uuid.UUID) -> Item | None:
    """Cache first, then PostgreSQL (filling the cache); ``None`` when the item does not exist."""
    cached = deps.cache.get(item_id)
    if cached is not None:
        return cached
    item = _with_postgres(deps, lambda: db.fetch_item(deps.engine, item_id))
    if item is not None:
        deps.cache.put(item)
    return item


def create_item(deps: Deps, new: NewItem) -> Item:
    """Write-behind: answer at once, persist in the background — fast, and wrong."""
    item = Item.create(new)
    # MISTAKE: the 201 goes out before PostgreSQL has committed anything. If the insert then
    # fails (an outage, a crash, a deploy) the client was told "saved" and the row never exists.
    _writer.submit(_insert_quietly, deps, item)
    deps.cache.put(item)
    return item


_writer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="write-behind")


def _insert_quietly(deps: Deps, item: Item) -> None:
    try:
        db.insert_item(deps.engine, item)
    except DB_DOWN:
        logging.getLogger(__name__).warning("write-behind insert failed for %s", item.id)


def readiness(deps: Deps) -> dict[str, object]:
    """Probe each dependency (bounded by its timeouts) and say what the service can do.

    ``ok``: everything up. ``degraded``: one dependency down, some requests still served.
    ``down``: nothing can be served.
    """
    checks = {
        "postgres": _probe(lambda: db.ping(deps.engine)),
        "redis": _probe(deps.redis.ping),
    }
    up = [state == "up" for state in checks.values()]
    status = "ok" if all(up) else "degraded" if any(up) else "down"
    return {"status": status, "checks": checks}


def _probe(call: Callable[[], object]) -> str:
    try:
        call()
    except (*DB_DOWN, redis.RedisError):
        return "down"
    return "up"
