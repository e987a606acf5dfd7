"""Lab redis/idempotency — Idempotency-Key semantics as payment APIs define them."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis

from course.concurrently import run_together
from labs.week05_redis.idempotency import (
    IdempotencyConflict,
    IdempotencyStore,
    RequestInProgress,
    StoredResponse,
    fingerprint,
)

LESSON = "weeks/05-redis/README.md"


class ChargeHandler:
    """The endpoint's real work: 'charge the card', counted so a test can see double charges."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.executions = 0
        self._lock = threading.Lock()

    def __call__(self) -> StoredResponse:
        with self._lock:
            self.executions += 1
            number = self.executions
        time.sleep(self.delay)
        return StoredResponse(201, {"charge": f"ch_{number}", "amount": 500})


def test_same_key_same_body_replays_the_stored_response(redis_client: redis.Redis) -> None:
    store = IdempotencyStore(redis_client)
    handler = ChargeHandler()

    first = store.execute("key-1", {"amount": 500, "currency": "eur"}, handler)
    # The retry serialises the same body with another key order: still the same request.
    again = store.execute("key-1", {"currency": "eur", "amount": 500}, handler)

    assert handler.executions == 1, (
        f"expected the retry to be answered from the store; the handler ran {handler.executions} "
        f"times — a double charge. See {LESSON}, section 'Idempotency keys'.")
    assert (again.status, again.body) == (first.status, first.body) == (201, {"charge": "ch_1",
                                                                              "amount": 500}), (
        f"expected the replay to carry the first status and body (201, ch_1); "
        f"got {again.status} {again.body}")
    assert again.replayed and not first.replayed, (
        f"expected replayed=True only on the replay (Stripe's Idempotent-Replayed header); "
        f"got first={first.replayed}, again={again.replayed}")


def test_same_key_different_body_is_a_conflict(redis_client: redis.Redis) -> None:
    store = IdempotencyStore(redis_client)
    handler = ChargeHandler()
    store.execute("key-2", {"amount": 500}, handler)

    with pytest.raises(IdempotencyConflict) as raised:
        store.execute("key-2", {"amount": 9_900}, handler)

    assert handler.executions == 1, (
        f"expected the conflicting request not to run; the handler ran {handler.executions} times")
    assert raised.value.status == 422, f"expected HTTP 422 semantics; got {raised.value.status}"


def test_concurrent_duplicates_execute_exactly_once(redis_client: redis.Redis) -> None:
    store = IdempotencyStore(redis_client)
    handler = ChargeHandler(delay=0.3)

    outcomes = run_together(lambda _: store.execute("key-3", {"amount": 500}, handler), 12,
                            timeout_s=30)

    assert handler.executions == 1, (
        f"expected 12 simultaneous requests with one key to execute once; the handler ran "
        f"{handler.executions} times. Checking for the key and then writing it is two steps — "
        f"claim it atomically with SET NX. See {LESSON}, section 'Idempotency keys'.")
    unexpected = [o for o in outcomes
                  if not isinstance(o, (StoredResponse, RequestInProgress))]
    assert not unexpected, (
        f"expected each duplicate to get the stored response or a 409 RequestInProgress; "
        f"got {unexpected[:3]}")
    answered = [o for o in outcomes if isinstance(o, StoredResponse)]
    assert answered and all(o.body == {"charge": "ch_1", "amount": 500} for o in answered), (
        f"expected the single execution's response; got {answered[:3]}")
    in_progress = [o for o in outcomes if isinstance(o, RequestInProgress)]
    assert all(o.status == 409 for o in in_progress), "expected RequestInProgress.status == 409"


def test_keys_expire(redis_client: redis.Redis) -> None:
    store = IdempotencyStore(redis_client, ttl_s=0.4)
    handler = ChargeHandler()
    store.execute("key-4", {"amount": 500}, handler)

    without_ttl = [k for k in redis_client.scan_iter() if redis_client.pttl(k) < 0]
    assert not without_ttl, (
        f"expected every stored idempotency record to expire; these never do: {without_ttl}")
    time.sleep(0.8)
    response = store.execute("key-4", {"amount": 700}, handler)

    assert handler.executions == 2 and not response.replayed, (
        f"expected the key to be forgotten after its 0.4 s TTL and the new request to run; "
        f"handler ran {handler.executions} times, replayed={response.replayed}")


def test_a_request_in_flight_answers_409_and_its_claim_has_a_lease(redis_client: redis.Redis) -> None:
    store = IdempotencyStore(redis_client, in_flight_ttl_s=30)
    duplicate = ChargeHandler()
    seen: dict[str, Any] = {}

    def retry_meanwhile() -> None:
        try:
            seen["duplicate"] = store.execute("key-6", {"amount": 500}, duplicate)
        except Exception as exc:
            seen["duplicate"] = exc

    def slow_charge() -> StoredResponse:
        # While the first attempt runs: what does Redis hold, and what does a retry get?
        seen["ttls"] = {k: redis_client.pttl(k) for k in redis_client.scan_iter()}
        retry = threading.Thread(target=retry_meanwhile)
        retry.start()
        retry.join(timeout=5)
        seen["retry_answered"] = not retry.is_alive()
        return StoredResponse(201, {"charge": "ch_first", "amount": 500})

    store.execute("key-6", {"amount": 500}, slow_charge)

    ttls = seen["ttls"]
    assert ttls and all(0 < ttl <= 30_000 for ttl in ttls.values()), (
        f"expected the in-flight claim to carry its in_flight_ttl_s=30 s lease; Redis held {ttls} "
        f"(PTTL -1 = never expires). If the process dies mid-request, only the lease frees the key "
        f"— without it the key stays 'in progress' for ever. See {LESSON}, section 'Idempotency keys'.")
    assert all(ttl > 25_000 for ttl in ttls.values()), (
        f"expected the in-flight claim to live about in_flight_ttl_s=30 s (30 000 ms); Redis held "
        f"{ttls} (PTTL ms). PX counts milliseconds: a lease passed in seconds expires while the "
        f"handler still runs, and a duplicate then executes too. See {LESSON}, section "
        f"'Idempotency keys'.")
    assert seen["retry_answered"], (
        "expected a retry during the first attempt to be answered at once (409); it was still "
        "waiting after 5 s")
    assert isinstance(seen["duplicate"], RequestInProgress) and duplicate.executions == 0, (
        f"expected a retry while the first attempt runs to raise RequestInProgress (409) without "
        f"running the handler; got {seen['duplicate']!r}, handler ran {duplicate.executions} times")


def test_a_failed_handler_can_be_retried(redis_client: redis.Redis) -> None:
    store = IdempotencyStore(redis_client)

    def crash() -> StoredResponse:
        raise TimeoutError("payment provider timed out")

    with pytest.raises(TimeoutError):
        store.execute("key-5", {"amount": 500}, crash)
    handler = ChargeHandler()
    response = store.execute("key-5", {"amount": 500}, handler)

    assert handler.executions == 1 and response.status == 201, (
        f"expected a retry after an exception to execute (nothing was stored); got "
        f"executions={handler.executions}, response={response}. Release the claim when the "
        f"handler raises, or the key is stuck 'in progress'.")


def test_different_keys_are_independent(redis_client: redis.Redis) -> None:
    store = IdempotencyStore(redis_client)
    handler = ChargeHandler()
    a = store.execute("key-a", {"amount": 500}, handler)
    b = store.execute("key-b", {"amount": 500}, handler)
    assert handler.executions == 2 and a.body != b.body, (
        f"expected two keys to be two requests; handler ran {handler.executions} times")


def test_records_keep_their_full_ttl(redis_client: redis.Redis) -> None:
    store = IdempotencyStore(redis_client)  # the defaults: records for 24 h, like Stripe
    store.execute("key-7", {"amount": 500}, ChargeHandler())
    ttls = {k: redis_client.pttl(k) for k in redis_client.scan_iter()}
    day_ms = 86_400_000
    assert ttls and all(day_ms - 60_000 <= ttl <= day_ms for ttl in ttls.values()), (
        f"expected the finished record to be kept for the default ttl_s=86 400 s (24 h, "
        f"{day_ms} ms); Redis holds {ttls} (PTTL ms). PX counts milliseconds: 86 400 there is "
        f"86 seconds, and a client retrying a minute later is charged again. See {LESSON}, "
        f"section 'Idempotency keys'.")
    before = set(redis_client.scan_iter())
    short = IdempotencyStore(redis_client, namespace="short", ttl_s=5)
    short.execute("key-8", {"amount": 500}, ChargeHandler())
    records = {k: redis_client.pttl(k) for k in set(redis_client.scan_iter()) - before}
    assert len(records) == 1 and all(4_000 < ttl <= 5_000 for ttl in records.values()), (
        f"expected one new record from the store built with ttl_s=5 s, kept for 5 s; got {records} "
        f"(key → PTTL ms). The record's TTL is the ttl_s the store was built with — see {LESSON}, "
        f"section 'Idempotency keys'.")


def test_same_key_different_body_while_in_flight_is_a_conflict(redis_client: redis.Redis) -> None:
    store = IdempotencyStore(redis_client)
    seen: dict[str, Any] = {}

    def first_attempt() -> StoredResponse:
        try:
            store.execute("key-9", {"amount": 9_900}, ChargeHandler())
        except Exception as exc:
            seen["other"] = exc
        return StoredResponse(201, {"charge": "ch_first", "amount": 500})

    store.execute("key-9", {"amount": 500}, first_attempt)
    assert isinstance(seen.get("other"), IdempotencyConflict), (
        f"expected a different body under a key still in flight to be a conflict (422) — the key "
        f"was reused for another request, whatever state the first is in; got {seen.get('other')!r}. "
        f"Compare the fingerprint before answering 409 — see {LESSON}, section 'Idempotency keys'.")


def test_fingerprint_ignores_key_order_and_whitespace_only() -> None:
    same = [fingerprint({"amount": 500, "meta": {"a": 1, "b": [1, 2]}}),
            fingerprint({"meta": {"b": [1, 2], "a": 1}, "amount": 500})]
    different = [fingerprint({"amount": 501, "meta": {"a": 1, "b": [1, 2]}}),
                 fingerprint({"amount": 500, "meta": {"a": 1, "b": [2, 1]}}),
                 fingerprint({"amount": "500", "meta": {"a": 1, "b": [1, 2]}})]
    assert same[0] == same[1], (
        "expected the same body with its keys in another order (nested too) to have the same "
        "fingerprint: serialise canonically, json.dumps(body, sort_keys=True) — see "
        f"{LESSON}, section 'Idempotency keys'.")
    assert len({same[0], *different}) == 4, (
        "expected a changed amount, a reordered list and a string instead of a number to change "
        "the fingerprint: only key order and whitespace are not part of the request — see "
        f"{LESSON}, section 'Idempotency keys'.")
