"""Idempotency keys with the semantics payment APIs use (Stripe's ``Idempotency-Key`` header).

Your task: implement :func:`fingerprint` and :meth:`IdempotencyStore.execute` so that

* same key, same body → the first response, replayed (``replayed=True``), handler not run again;
* same key, different body → :class:`IdempotencyConflict` (HTTP 422);
* same key while the first attempt is still running → :class:`RequestInProgress` (HTTP 409);
* concurrent duplicates execute the handler exactly once;
* a handler that raises stores nothing, so the client may retry with the same key;
* every record expires: the finished one after ``ttl_s``, the in-flight claim after
  ``in_flight_ttl_s`` (``PX`` counts milliseconds: ``self.ttl_ms`` and ``self.in_flight_ttl_ms``).

See weeks/05-redis/README.md, section 'Idempotency keys'.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

SECTION = "see weeks/05-redis/README.md, section 'Idempotency keys'"


@dataclass(frozen=True)
class StoredResponse:
    """What the handler answered; ``replayed`` is True when it came from the store."""

    status: int
    body: dict[str, Any]
    replayed: bool = field(default=False, compare=False)


class IdempotencyConflict(Exception):
    """The key was already used with a different request body (HTTP 422)."""

    status = 422


class RequestInProgress(Exception):
    """A request with this key is still being processed (HTTP 409); retry later."""

    status = 409


def fingerprint(body: Mapping[str, Any]) -> str:
    """A digest of the request body that ignores key order and whitespace."""
    raise NotImplementedError(f"fingerprint — {SECTION}")


class IdempotencyStore:
    """Runs each (key, body) at most once and replays its response for ``ttl_s`` seconds."""

    def __init__(self, client: redis.Redis, *, namespace: str = "idem", ttl_s: float = 86_400.0,
                 in_flight_ttl_s: float = 60.0) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.in_flight_ttl_ms = max(1, round(in_flight_ttl_s * 1000))

    def execute(self, key: str, body: Mapping[str, Any],
                handler: Callable[[], StoredResponse]) -> StoredResponse:
        """Run ``handler`` once for ``key``; replay, or raise 422/409, for repeats (see module doc)."""
        raise NotImplementedError(f"IdempotencyStore.execute — {SECTION}")
