"""MISTAKE check_then_set — look the key up, run the handler if it is new, then store the response.

Sequential retries are handled perfectly. Concurrent duplicates (a client retrying on a short
timeout, a double-clicked "Pay" button) all look up the key before any of them has stored it:
every one of them executes — the double charge idempotency keys exist to prevent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]
    replayed: bool = field(default=False, compare=False)


class IdempotencyConflict(Exception):
    status = 422


class RequestInProgress(Exception):
    status = 409


def fingerprint(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, client: redis.Redis, *, namespace: str = "idem", ttl_s: float = 86_400.0,
                 in_flight_ttl_s: float = 60.0) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl_ms = max(1, round(ttl_s * 1000))

    def execute(self, key: str, body: Mapping[str, Any],
                handler: Callable[[], StoredResponse]) -> StoredResponse:
        record_key = f"{self.namespace}:{key}"
        digest = fingerprint(body)
        raw = self.client.get(record_key)  # MISTAKE: check …
        if raw is not None:
            record = json.loads(raw)
            if record["fingerprint"] != digest:
                raise IdempotencyConflict("this idempotency key was used with a different request body")
            return StoredResponse(record["status"], record["body"], replayed=True)
        response = handler()  # … act …
        stored = {"fingerprint": digest, "status": response.status, "body": response.body}
        self.client.set(record_key, json.dumps(stored), px=self.ttl_ms)  # … set: too late
        return response
