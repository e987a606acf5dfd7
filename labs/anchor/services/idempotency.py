"""``Idempotency-Key`` on ingestion, with week 05's semantics, on Redis.

A client that timed out cannot know whether its message was accepted; it retries with the same
key, and the service promises:

* same key, same request → the first response replayed (same status and body), nothing stored twice;
* same key, different request → 422: the key was reused for something else;
* same key while the first request is still running → 409 with ``Retry-After: 1``;
* records expire after ``idempotency_ttl_s`` (24 h by default, as Stripe and Svix keep them).

The messages route calls :meth:`IdempotencyStore.begin` before ingesting, then
:meth:`~IdempotencyStore.complete` with the 202 it answered, or
:meth:`~IdempotencyStore.abandon` when the request failed without an answer worth keeping.
"""

from __future__ import annotations

import hashlib  # noqa: F401 — yours to use
import json  # noqa: F401 — yours to use
import secrets  # noqa: F401 — yours to use
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

# Given: finish or abandon a claim only while the record is still our in-flight marker. If our
# claim lapsed and a retry claimed the key, we must not overwrite (or delete) the retry's record.
# KEYS[1] = the record key; ARGV = our marker, the record to store ('' = delete), its TTL in ms.
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


class IdempotencyConflict(Exception):
    """The key was used before with a different request (answer 422)."""


class RequestInProgress(Exception):
    """A request with this key is still being processed (answer 409, ``Retry-After: 1``)."""


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Claim:
    """The right to run the request for ``record_key``; finish or abandon it."""

    record_key: str
    marker: str
    fingerprint: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": a SHA-256 of method, path and body.

    Normalise a JSON body first (sorted keys, no spaces): ``{"a":1,"b":2}`` and
    ``{"b": 2, "a": 1}`` are the same request.
    """
    raise NotImplementedError(
        "fingerprint: see weeks/13-anchor-core/README.md, section 'Idempotency keys'")


class IdempotencyStore:
    def __init__(self, client: aioredis.Redis, *, ttl_s: float, in_flight_ttl_s: float = 60.0,
                 namespace: str = "anchor:idem") -> None:
        self._client = client
        self._namespace = namespace
        self._ttl_ms = max(1, round(ttl_s * 1000))
        # Longer than any request may run: past it a crashed request frees the key for a retry.
        self._in_flight_ttl_ms = max(1, round(in_flight_ttl_s * 1000))
        self._finish = client.register_script(_FINISH)

    async def begin(self, *, tenant_id: str, key: str, request_fingerprint: str) -> Claim | StoredResponse:
        """Claim ``key`` (then run the request) or get the stored response to replay.

        Keys are per tenant. Claim with ONE atomic ``SET … NX PX in_flight_ttl_ms`` of an
        in-flight marker (JSON with the fingerprint and a random claim token); when the key is
        taken, read the record: another fingerprint → :class:`IdempotencyConflict`; still in
        flight → :class:`RequestInProgress`; done → its :class:`StoredResponse`.
        """
        raise NotImplementedError(
            "IdempotencyStore.begin: see weeks/13-anchor-core/README.md, section 'Idempotency keys'")

    async def complete(self, claim: Claim, response: StoredResponse) -> None:
        """Store the response the claimed request produced (state done), for ``idempotency_ttl_s``."""
        raise NotImplementedError(
            "IdempotencyStore.complete: see weeks/13-anchor-core/README.md, section 'Idempotency keys'")

    async def abandon(self, claim: Claim) -> None:
        """The request failed without an answer worth keeping: let a retry with the key run again."""
        raise NotImplementedError(
            "IdempotencyStore.abandon: see weeks/13-anchor-core/README.md, section 'Idempotency keys'")
