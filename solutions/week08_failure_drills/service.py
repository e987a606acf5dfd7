"""What each endpoint does when a dependency is down — the degraded modes, in one place.

* Redis down: reads come from PostgreSQL (slower, still correct); the cache is skipped.
* PostgreSQL down: cached reads are still served; anything that needs PostgreSQL — a cache miss
  or a write — raises ``Unavailable``, which the app answers with 503 and ``Retry-After``.
* A write is acknowledged only after PostgreSQL has committed it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
    """Commit first, acknowledge second: when this returns, the row is durable."""
    item = Item.create(new)
    _with_postgres(deps, lambda: db.insert_item(deps.engine, item))
    deps.cache.put(item)
    return item


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
