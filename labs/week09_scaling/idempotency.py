"""Idempotency keys in Redis — week 05's store, given complete, with the course's ``_s`` names.

Same key + same body → the first response replayed; same key + another body → 422; same key
while the first is still running → 409. The record lives in Redis, not in the process: a retry
that the load balancer sends to another instance finds it there.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

# Finish or abandon a claim only while the record is still our in-flight marker.
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


class RequestInProgress(Exception):
    """A request with this key is still being processed (HTTP 409); retry shortly."""


def fingerprint(body: Mapping[str, Any]) -> str:
    """A digest of the request body that ignores key order and whitespace."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class IdempotencyStore:
    """Runs each (key, body) at most once and replays its response for ``ttl_s`` seconds."""

    def __init__(self, client: redis.Redis, *, ttl_s: float = 86_400.0, in_flight_ttl_s: float = 60.0,
                 namespace: str = "idem") -> None:
        self.client = client
        self.namespace = namespace
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.in_flight_ttl_ms = max(1, round(in_flight_ttl_s * 1000))
        self._finish = client.register_script(_FINISH)

    def execute(self, key: str, body: Mapping[str, Any],
                handler: Callable[[], StoredResponse]) -> StoredResponse:
        record_key = f"{self.namespace}:{key}"
        digest = fingerprint(body)
        marker = json.dumps({"fingerprint": digest, "state": "in_flight", "claim": secrets.token_hex(8)})
        while not self.client.set(record_key, marker, nx=True, px=self.in_flight_ttl_ms):
            raw = self.client.get(record_key)
            if raw is not None:
                return self._replay(json.loads(raw), digest)
        try:
            response = handler()
        except BaseException:
            self._finish(keys=[record_key], args=[marker, "", 0])
            raise
        stored = json.dumps({"fingerprint": digest, "state": "done",
                             "status": response.status, "body": response.body})
        self._finish(keys=[record_key], args=[marker, stored, self.ttl_ms])
        return response

    @staticmethod
    def _replay(record: dict[str, Any], digest: str) -> StoredResponse:
        if record["fingerprint"] != digest:
            raise IdempotencyConflict("this Idempotency-Key was used with a different request body")
        if record["state"] == "in_flight":
            raise RequestInProgress("a request with this Idempotency-Key is still in progress")
        return StoredResponse(record["status"], record["body"], replayed=True)
