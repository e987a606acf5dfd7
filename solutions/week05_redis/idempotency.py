"""Idempotency keys with the semantics payment APIs use (Stripe's ``Idempotency-Key`` header).

A client that retries a POST after a timeout cannot know whether the first attempt charged the
card. It sends the same key again, and the server promises:

* same key, same body → the first response, replayed (status and body), handler not run again;
* same key, different body → a conflict (HTTP 422): the key was reused for another request;
* same key while the first attempt is still running → HTTP 409, try again shortly;
* keys expire (Stripe keeps them 24 hours), so the store does not grow forever.

One record per key. ``SET NX`` claims the key atomically — of any number of concurrent
duplicates exactly one wins the claim and executes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

# Finish or abandon a claim only while the record is still our in-flight marker: if our claim
# expired and a retry claimed the key, we must not overwrite (or delete) the retry's record.
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


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
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    """Runs each (key, body) at most once and replays its response for ``ttl_s`` seconds."""

    def __init__(self, client: redis.Redis, *, namespace: str = "idem", ttl_s: float = 86_400.0,
                 in_flight_ttl_s: float = 60.0) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl_ms = max(1, round(ttl_s * 1000))
        # Longer than any handler may run: past it a crashed attempt frees the key for a retry.
        self.in_flight_ttl_ms = max(1, round(in_flight_ttl_s * 1000))
        self._finish = client.register_script(_FINISH)

    def execute(self, key: str, body: Mapping[str, Any],
                handler: Callable[[], StoredResponse]) -> StoredResponse:
        """Run ``handler`` once for ``key``; replay, or raise 422/409, for repeats (see module doc)."""
        record_key = f"{self.namespace}:{key}"
        digest = fingerprint(body)
        marker = json.dumps({"fingerprint": digest, "state": "in_flight",
                             "claim": secrets.token_hex(8)})
        while not self.client.set(record_key, marker, nx=True, px=self.in_flight_ttl_ms):
            raw = self.client.get(record_key)
            if raw is None:
                continue  # the record expired between our SET NX and GET: claim again
            return self._replay(json.loads(raw), digest)
        try:
            response = handler()
        except BaseException:
            # Nothing was stored, so the client may retry with the same key.
            self._finish(keys=[record_key], args=[marker, "", 0])
            raise
        stored = json.dumps({"fingerprint": digest, "state": "done",
                             "status": response.status, "body": response.body})
        self._finish(keys=[record_key], args=[marker, stored, self.ttl_ms])
        return response

    @staticmethod
    def _replay(record: dict[str, Any], digest: str) -> StoredResponse:
        if record["fingerprint"] != digest:
            raise IdempotencyConflict("this idempotency key was used with a different request body")
        if record["state"] == "in_flight":
            raise RequestInProgress("a request with this idempotency key is still in progress")
        return StoredResponse(record["status"], record["body"], replayed=True)
