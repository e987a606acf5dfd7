"""Lab: ingestion — a message and its outbox row in one transaction; retries that store nothing twice.

The service is driven over HTTP; what it stored is read back from PostgreSQL. Failures and races
are made real: a trigger makes the outbox insert fail, a row lock holds a request in flight, and
concurrent clients send the same event id or the same ``Idempotency-Key`` at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

LESSON = "weeks/13-anchor-core/README.md"
MESSAGE = {"eventType": "invoice.paid", "payload": {"invoice": "in_1", "amountCents": 4200}}
ROUNDS, AT_ONCE = 4, 8


def count_messages(api: Any, app_id: str) -> int:
    return int(api.sql("SELECT count(*) FROM messages WHERE app_id = %s", app_id)[0][0])


async def send_together(url: str, token: str, path: str, bodies: list[dict[str, Any]],
                        headers: dict[str, str] | None = None) -> list[httpx.Response]:
    """POST every body at once, each on its own connection, so the requests really overlap."""
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits,
                                 headers={"Authorization": f"Bearer {token}"} | (headers or {})) as client:
        return list(await asyncio.gather(*(client.post(path, json=body) for body in bodies)))


def test_an_accepted_message_commits_with_its_outbox_row(api: Any) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    with tenant.client() as client:
        response = client.post(f"/api/v1/app/{app_id}/msg", json=MESSAGE | {"eventId": "evt-1"})
    assert response.status_code == 202, (
        f"POST /api/v1/app/{{app}}/msg must answer 202 Accepted; got {response.status_code} "
        f"({response.text[:300]!r}). See {LESSON}, section 'One transaction, two rows'")
    body = response.json()
    assert str(body.get("id", "")).startswith("msg_") and body.get("eventType") == MESSAGE["eventType"] \
        and body.get("payload") == MESSAGE["payload"] and body.get("eventId") == "evt-1", (
            f"the 202 body must be the MessageOut (id msg_…, eventId, eventType, payload); got {body}")
    stored = api.sql("SELECT m.tenant_id, m.event_type, count(o.id) FROM messages m "
                     "LEFT JOIN outbox o ON o.message_id = m.id WHERE m.id = %s "
                     "GROUP BY m.tenant_id, m.event_type", body["id"])
    assert stored == [(tenant.tenant_id, MESSAGE["eventType"], 1)], (
        f"after the 202, message {body['id']} must be stored for tenant {tenant.tenant_id} with "
        f"exactly one outbox row; the database holds (tenant, type, outbox rows) = {stored}. "
        f"See {LESSON}, section 'One transaction, two rows'")


def test_a_failed_outbox_write_leaves_no_message(api: Any) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    api.sql("CREATE OR REPLACE FUNCTION week13_refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'week 13 test: the outbox insert fails'; END $$")
    api.sql("CREATE TRIGGER week13_refuse_outbox BEFORE INSERT ON outbox "
            "FOR EACH ROW EXECUTE FUNCTION week13_refuse_outbox()")
    try:
        with tenant.client() as client:
            response = client.post(f"/api/v1/app/{app_id}/msg", json=MESSAGE)
    finally:
        api.sql("DROP TRIGGER IF EXISTS week13_refuse_outbox ON outbox")
    assert response.status_code != 202, (
        "the outbox insert failed, yet the API answered 202: the client now believes a message "
        f"was accepted that will never be delivered. See {LESSON}, section 'One transaction, two rows'")
    left = api.sql("SELECT id FROM messages WHERE app_id = %s", app_id)
    assert not left, (
        f"the outbox insert failed (the API answered {response.status_code}) but message "
        f"{left[0][0]} stayed committed without its outbox row: nothing will ever deliver it. The "
        "message and its outbox row must commit in ONE transaction — both or neither. See "
        f"{LESSON}, section 'One transaction, two rows'")


def test_a_repeated_event_id_is_a_conflict_naming_the_first_message(api: Any) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    with tenant.client() as client:
        first = client.post(f"/api/v1/app/{app_id}/msg", json=MESSAGE | {"eventId": "order-77"})
        again = client.post(f"/api/v1/app/{app_id}/msg", json=MESSAGE | {"eventId": "order-77"})
    assert first.status_code == 202, f"the first message answered {first.status_code}: {first.text[:300]!r}"
    assert again.status_code == 409 and again.headers.get("content-type", "").startswith(
        "application/problem+json"), (
        f"a second message with the same eventId must be a 409 problem document; got "
        f"{again.status_code} {again.headers.get('content-type')!r}. See {LESSON}, section 'Event ids'")
    assert first.json()["id"] in again.text, (
        f"the 409 must name the message that already has this eventId ({first.json()['id']}) so the "
        f"client can look it up; it said {again.text[:300]!r}. See {LESSON}, section 'Event ids'")
    assert count_messages(api, app_id) == 1, "a repeated eventId stored a second message"


def test_concurrent_repeats_of_an_event_id_make_one_message(api: Any) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    for round_ in range(ROUNDS):
        body = MESSAGE | {"eventId": f"race-{round_}"}
        responses = asyncio.run(send_together(api.url, tenant.token, f"/api/v1/app/{app_id}/msg",
                                              [body] * AT_ONCE))
        statuses = Counter(response.status_code for response in responses)
        assert statuses == Counter({202: 1, 409: AT_ONCE - 1}), (
            f"{AT_ONCE} clients sent eventId race-{round_} at the same moment; expected one 202 and "
            f"{AT_ONCE - 1} × 409, got {dict(statuses)}. Checking for the event id before inserting "
            "races: two requests both see \"not there\", and the loser hits the unique constraint "
            "as a 500. Let the constraint decide and turn its violation into the 409. See "
            f"{LESSON}, section 'Event ids'")
    assert count_messages(api, app_id) == ROUNDS


def test_a_repeated_idempotency_key_replays_the_first_response(api: Any) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    key = {"Idempotency-Key": f"idem-{uuid.uuid4()}"}
    with tenant.client() as client:
        first = client.post(f"/api/v1/app/{app_id}/msg", json=MESSAGE, headers=key)
        replay = client.post(f"/api/v1/app/{app_id}/msg", json=MESSAGE, headers=key)
        fresh = client.post(f"/api/v1/app/{app_id}/msg", json=MESSAGE)
    assert first.status_code == 202, f"the first request answered {first.status_code}: {first.text[:300]!r}"
    assert (replay.status_code, replay.json()) == (202, first.json()), (
        f"a retry with the same Idempotency-Key and body must get the first response again — same "
        f"status, same body; got {replay.status_code} {replay.text[:300]!r} after "
        f"{first.status_code} {first.text[:300]!r}. See {LESSON}, section 'Idempotency keys'")
    assert fresh.status_code == 202 and fresh.json()["id"] != first.json()["id"], (
        "the same body without an Idempotency-Key is a new message; it must get a new id")
    assert count_messages(api, app_id) == 2, (
        f"two distinct messages were sent (one retried); the database holds "
        f"{count_messages(api, app_id)}. See {LESSON}, section 'Idempotency keys'")


def test_an_idempotency_key_reused_with_another_body_is_refused(api: Any) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    key = {"Idempotency-Key": f"idem-{uuid.uuid4()}"}
    other = MESSAGE | {"payload": {"invoice": "in_2", "amountCents": 9900}}
    with tenant.client() as client:
        first = client.post(f"/api/v1/app/{app_id}/msg", json=MESSAGE, headers=key)
        reused = client.post(f"/api/v1/app/{app_id}/msg", json=other, headers=key)
    assert first.status_code == 202, f"the first request answered {first.status_code}: {first.text[:300]!r}"
    assert reused.status_code == 422, (
        f"the same Idempotency-Key with a different body must be refused with 422 — replaying the "
        f"first response would tell the client its second message (in_2) was accepted when it was "
        f"not; got {reused.status_code} {reused.text[:300]!r}. Store a fingerprint of the request "
        f"with the key and compare it. See {LESSON}, section 'Idempotency keys'")
    assert count_messages(api, app_id) == 1


def test_a_twin_of_a_request_in_flight_gets_409_with_retry_after(api: Any) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    key = {"Idempotency-Key": f"idem-{uuid.uuid4()}"}
    path = f"/api/v1/app/{app_id}/msg"
    # Holding the application's row FOR UPDATE blocks the message INSERT's foreign-key check, so
    # the first request stays in flight, inside the service, until this transaction ends.
    with psycopg.connect(api.database_url) as holder, ThreadPoolExecutor(1) as pool:
        holder.execute("SELECT 1 FROM applications WHERE id = %s FOR UPDATE", (app_id,))
        with tenant.client() as client:
            first = pool.submit(client.post, path, json=MESSAGE, headers=key)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not first.done() and not api.sql(
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"):
                time.sleep(0.05)
            if first.done():
                holder.rollback()
                pytest.fail(f"the first request finished while the application row was locked "
                            f"({first.result().status_code} {first.result().text[:300]!r}); it "
                            f"should have waited inside its INSERT. See {LESSON}, section "
                            "'One transaction, two rows'", pytrace=False)
            with tenant.client() as twin_client:
                twin = twin_client.post(path, json=MESSAGE, headers=key)
            holder.rollback()
            finished = first.result(timeout=30)
    assert twin.status_code == 409 and twin.headers.get("retry-after") == "1", (
        f"while the first request with this Idempotency-Key is still running, its twin must get 409 "
        f"with `Retry-After: 1`; got {twin.status_code}, Retry-After "
        f"{twin.headers.get('retry-after')!r}, body {twin.text[:300]!r}. See {LESSON}, section "
        "'Idempotency keys'")
    assert finished.status_code == 202, f"the first request answered {finished.status_code}"
    with tenant.client() as client:
        later = client.post(path, json=MESSAGE, headers=key)
    assert (later.status_code, later.json()) == (202, finished.json()), (
        f"once the first request finished, a retry must replay its response; got {later.status_code} "
        f"{later.text[:300]!r}. See {LESSON}, section 'Idempotency keys'")


def test_concurrent_requests_with_one_idempotency_key_make_one_message(api: Any) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    for round_ in range(ROUNDS):
        key = {"Idempotency-Key": f"race-{round_}-{uuid.uuid4()}"}
        responses = asyncio.run(send_together(api.url, tenant.token, f"/api/v1/app/{app_id}/msg",
                                              [MESSAGE] * AT_ONCE, headers=key))
        statuses = Counter(response.status_code for response in responses)
        ids = {response.json().get("id") for response in responses if response.status_code == 202}
        assert set(statuses) <= {202, 409} and len(ids) == 1, (
            f"{AT_ONCE} retries with one Idempotency-Key at the same moment answered {dict(statuses)} "
            f"with message ids {sorted(ids)}; exactly one request may run (the others get 409, or the "
            "replay of its response). A GET then a SET lets several through the gap between them — "
            f"claim the key with one atomic SET NX. See {LESSON}, section 'Idempotency keys'")
    stored = count_messages(api, app_id)
    assert stored == ROUNDS, (
        f"{ROUNDS} keys were each sent {AT_ONCE} times at once; the database holds {stored} messages, "
        f"not {ROUNDS}. See {LESSON}, section 'Idempotency keys'")
