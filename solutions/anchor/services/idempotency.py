"""``Idempotency-Key`` on ingestion, with week 05's semantics, on Redis.

A client that timed out cannot know whether its message was accepted; it retries with the same
key, and the service promises:

* same key, same request → the first response replayed (same status and body), nothing stored twice;
* same key, different request → 422: the key was reused for something else;
* same key while the first request is still running → 409 with ``Retry-After: 1``;
* records expire after ``idempotency_ttl_s`` (24 h by default, as Stripe and Svix keep them).

``SET NX`` claims a key atomically, so of any number of concurrent duplicates exactly one runs.
Keys are per tenant: two tenants choosing the same key never see each other's responses.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

# Finish or abandon a claim only while the record is still our in-flight marker: if our claim
# lapsed and a retry claimed the key, we must not overwrite (or delete) the retry's record.
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
    """What makes two requests "the same": method, path and body bytes (JSON normalised)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


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

        Raises :class:`IdempotencyConflict` or :class:`RequestInProgress` for the other cases.
        """
        record_key = f"{self._namespace}:{tenant_id}:{hashlib.sha256(key.encode()).hexdigest()}"
        marker = json.dumps({"fingerprint": request_fingerprint, "state": "in_flight",
                             "claim": secrets.token_hex(8)})
        while not await self._client.set(record_key, marker, nx=True, px=self._in_flight_ttl_ms):
            raw = await self._client.get(record_key)
            if raw is None:
                continue  # expired between our SET NX and GET: claim again
            record = json.loads(raw)
            if record["fingerprint"] != request_fingerprint:
                raise IdempotencyConflict("this Idempotency-Key was already used with a different request")
            if record["state"] == "in_flight":
                raise RequestInProgress("a request with this Idempotency-Key is still being processed")
            return StoredResponse(status=record["status"], body=record["body"])
        return Claim(record_key=record_key, marker=marker, fingerprint=request_fingerprint)

    async def complete(self, claim: Claim, response: StoredResponse) -> None:
        """Store the response the claimed request produced, for ``idempotency_ttl_s``."""
        stored = json.dumps({"fingerprint": claim.fingerprint, "state": "done",
                             "status": response.status, "body": response.body})
        await self._finish(keys=[claim.record_key], args=[claim.marker, stored, self._ttl_ms])

    async def abandon(self, claim: Claim) -> None:
        """The request failed without an answer worth keeping: let a retry with the key run again."""
        await self._finish(keys=[claim.record_key], args=[claim.marker, "", 0])
