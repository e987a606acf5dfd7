"""What each endpoint does when a dependency is down — the degraded modes, in one place.

* Redis down: reads come from PostgreSQL (slower, still correct); the cache is skipped.
* PostgreSQL down: cached reads are still served; anything that needs PostgreSQL — a cache miss
  or a write — raises ``Unavailable``, which the app answers with 503 and ``Retry-After``.
* A write is acknowledged only after PostgreSQL has committed it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import exc as sa_exc

from . import db  # noqa: F401  (fetch_item, insert_item, ping)
from .breaker import CircuitOpenError  # noqa: F401  (an open circuit raises it)
from .deps import Deps
from .errors import Unavailable  # noqa: F401
from .models import Item, NewItem

# Connectivity and timeouts are the dependency's fault: a designed 503. Anything else
# (an IntegrityError, a typo in SQL) is our bug and should stay a loud 500.
DB_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def read_item(deps: Deps, item_id: uuid.UUID) -> Item | None:
    """Cache first (``deps.cache``), then PostgreSQL, filling the cache; ``None`` if no such item.

    PostgreSQL calls go through ``deps.db_breaker.call(...)``; a ``DB_DOWN`` error (refused,
    timed out, no pooled connection free in time) or an open circuit becomes
    ``Unavailable(reason, retry_after_s)``. An item that does not exist is ``None`` (a 404).
    """
    raise NotImplementedError("read_item: see weeks/08-failure-drills/README.md, section 'Degraded modes'")


def create_item(deps: Deps, new: NewItem) -> Item:
    """Insert a new item (``Item.create(new)``) and return it — only once it is committed."""
    raise NotImplementedError(
        "create_item: see weeks/08-failure-drills/README.md, section 'Acknowledge after commit'")


def readiness(deps: Deps) -> dict[str, object]:
    """Probe PostgreSQL (``db.ping``) and Redis (``deps.redis.ping``), each bounded by its timeouts.

    Returns ``{"status": "ok" | "degraded" | "down", "checks": {"postgres": "up" | "down",
    "redis": "up" | "down"}}``: ok = both up, degraded = one down, down = both down.
    """
    raise NotImplementedError("readiness: see weeks/08-failure-drills/README.md, section 'Degraded modes'")
