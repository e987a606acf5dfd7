"""Ingestion: the message and its outbox row commit together, at most once per key and per event id,
within the tenant's quota — and the answers say so in their status, headers and problem codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from anchor.core.config import Settings
from anchor.core.ids import new_id
from anchor.main import create_app
from anchor.models import Attempt, Delivery, Message, Outbox
from anchor.services.idempotency import Claim, fingerprint
from anchor.tests.helpers import PUBLIC_URL, Tenant, assert_problem
from fastapi import FastAPI
from sqlalchemy import func, select

pytestmark = pytest.mark.anyio

MakeTenant = Callable[[], Awaitable[Tenant]]


async def _app_of(client: httpx.AsyncClient, owner: Tenant, **fields: Any) -> str:
    response = await client.post("/api/v1/app", json={"name": "Customer"} | fields, headers=owner.headers)
    assert response.status_code == 201, response.text
    app_id: str = response.json()["id"]
    return app_id


async def _counts(app: FastAPI, app_id: str) -> tuple[int, int]:
    """(messages, outbox rows) of the application."""
    async with app.state.sessions() as session:
        messages = await session.scalar(
            select(func.count()).select_from(Message).where(Message.app_id == app_id))
        outbox = await session.scalar(select(func.count()).select_from(Outbox).join(
            Message, Message.id == Outbox.message_id).where(Message.app_id == app_id))
    return messages or 0, outbox or 0


async def test_a_message_is_stored_with_its_outbox_row(app: FastAPI, client: httpx.AsyncClient,
                                                       tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    response = await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers, json={
        "eventType": "invoice.paid", "payload": {"amount": 42}, "channels": ["eu"]})
    assert response.status_code == 202, (
        f"ingestion answers 202 Accepted; got {response.status_code}: {response.text}")
    body = response.json()
    assert body["id"].startswith("msg_") and body["eventType"] == "invoice.paid" and body["payload"] == {
        "amount": 42} and body["channels"] == ["eu"], f"MessageOut should echo the message; got {body}"
    async with app.state.sessions() as session:
        outbox = (await session.scalars(
            select(Outbox.message_id).where(Outbox.message_id == body["id"]))).all()
    assert outbox == [body["id"]], (
        f"the message must be written with exactly one outbox row in its transaction; found {len(outbox)}")


async def test_a_repeated_event_id_is_a_409_naming_the_first_message_and_stores_nothing(
        app: FastAPI, client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    message = {"eventType": "invoice.paid", "eventId": "evt-1", "payload": {"n": 1}}
    first = await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers, json=message)
    assert first.status_code == 202, first.text
    again = await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                              json=message | {"payload": {"n": 2}})
    problem = assert_problem(again, 409, "conflict")
    assert first.json()["id"] in str(problem["detail"]), (
        f"the 409 should name the message that already has this eventId ({first.json()['id']}); "
        f"got {problem}")
    assert await _counts(app, app_id) == (1, 1), (
        "a refused message must leave neither its row nor an outbox row behind (one transaction)")
    other_app = await _app_of(client, owner)
    elsewhere = await client.post(f"/api/v1/app/{other_app}/msg", headers=owner.headers, json=message)
    assert elsewhere.status_code == 202, "eventId is unique per application, not across applications"


async def test_same_idempotency_key_same_body_replays_the_first_answer(
        app: FastAPI, client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    headers = owner.headers | {"Idempotency-Key": "retry-me"}
    message = {"eventType": "order.created", "payload": {"order": 7}}
    first = await client.post(f"/api/v1/app/{app_id}/msg", headers=headers, json=message)
    replay = await client.post(f"/api/v1/app/{app_id}/msg", headers=headers, json=message)
    assert first.status_code == 202 and replay.status_code == 202, (first.text, replay.text)
    assert replay.json() == first.json(), "a retry with the same key and body must get the first answer back"
    assert replay.headers.get("idempotent-replayed") == "true", "a replayed answer says so"
    assert await _counts(app, app_id) == (1, 1), "a replay must not store the message a second time"


async def test_same_idempotency_key_different_body_is_a_422(client: httpx.AsyncClient,
                                                            tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    headers = owner.headers | {"Idempotency-Key": "reused"}
    await client.post(f"/api/v1/app/{app_id}/msg", headers=headers, json={"eventType": "a.b", "payload": {}})
    other = await client.post(f"/api/v1/app/{app_id}/msg", headers=headers,
                              json={"eventType": "a.b", "payload": {"different": True}})
    assert_problem(other, 422, "idempotency_conflict")


async def test_same_idempotency_key_while_the_first_is_in_flight_is_a_409(
        app: FastAPI, client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    message = {"eventType": "a.b", "payload": {"x": 1}}
    path = f"/api/v1/app/{app_id}/msg"
    claim = await app.state.idempotency.begin(  # the first request, still running
        tenant_id=owner.tenant_id, key="slow", request_fingerprint=fingerprint("POST", path, json.dumps(
            message).encode()))
    assert isinstance(claim, Claim)
    response = await client.post(path, headers=owner.headers | {"Idempotency-Key": "slow"}, json=message)
    assert_problem(response, 409, "request_in_progress")
    assert response.headers.get("retry-after") == "1", "an in-flight duplicate is told to retry in 1 s"
    await app.state.idempotency.abandon(claim)


async def test_a_failed_request_releases_its_idempotency_key(app: FastAPI, client: httpx.AsyncClient,
                                                             tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    message = {"eventType": "a.b", "eventId": "once", "payload": {}}
    await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers, json=message)
    headers = owner.headers | {"Idempotency-Key": "k"}
    for _ in range(2):
        response = await client.post(f"/api/v1/app/{app_id}/msg", headers=headers, json=message)
        assert_problem(response, 409, "conflict")  # the eventId conflict each time, never "in progress"


async def test_idempotency_keys_belong_to_one_tenant(client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    first, second = await tenant(), await tenant()
    message = {"eventType": "a.b", "payload": {"same": "body"}}
    answers = []
    for owner in (first, second):
        app_id = await _app_of(client, owner, uid="shop")
        response = await client.post("/api/v1/app/shop/msg", headers=owner.headers | {
            "Idempotency-Key": "shared-key"}, json=message)
        assert response.status_code == 202, response.text
        answers.append((app_id, response.json()["id"]))
    assert answers[0][1] != answers[1][1], "two tenants using one key must not share a stored answer"


async def test_every_ingest_answer_carries_ratelimit_headers_and_429_says_when(
        client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner, rateLimit=1)  # one message per second for this app
    first = await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                              json={"eventType": "a.b", "payload": {}})
    assert first.status_code == 202, first.text
    assert first.headers.get("ratelimit-limit") == "1" and first.headers.get("ratelimit-remaining") == "0", (
        f"a 202 carries RateLimit-Limit/-Remaining; got {dict(first.headers)}")
    second = await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                               json={"eventType": "a.b", "payload": {}})
    assert_problem(second, 429, "rate_limited")
    assert second.headers.get("retry-after") == "1", (
        f"Retry-After is max(1, ceil(retry_after_s)); got {second.headers.get('retry-after')!r}")
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(second.headers), (
        "a 429 carries the RateLimit headers too")


@pytest.fixture(scope="module")
async def tight_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The same database, with a tenant quota of a burst of 3 and a slow refill."""
    application = create_app(settings.model_copy(update={"ingest_burst": 3, "ingest_rate_per_s": 0.01}))
    async with application.router.lifespan_context(application):
        yield application


async def test_the_tenant_quota_is_shared_by_its_applications(
        tight_app: FastAPI, client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    apps = [await _app_of(client, owner) for _ in range(2)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=tight_app), base_url="http://t") as tight:
        statuses = []
        for i in range(4):
            response = await tight.post(f"/api/v1/app/{apps[i % 2]}/msg", headers=owner.headers,
                                        json={"eventType": "a.b", "payload": {}})
            statuses.append(response.status_code)
        other = await tenant()
        other_app = await _app_of(client, other)
        other_status = (await tight.post(f"/api/v1/app/{other_app}/msg", headers=other.headers,
                                         json={"eventType": "a.b", "payload": {}})).status_code
    assert statuses == [202, 202, 202, 429], (
        f"a burst of 3 across the tenant's two applications, then 429; got {statuses}")
    assert other_status == 202, "another tenant's quota is its own"


async def test_a_payload_over_the_limit_is_a_413(client: httpx.AsyncClient, tenant: MakeTenant,
                                                 settings: Settings) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    big = {"eventType": "a.b", "payload": {"blob": "x" * (settings.max_payload_bytes + 1)}}
    assert_problem(await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers, json=big), 413)


async def test_validation_errors_name_the_field(client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    response = await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers, json={"payload": {}})
    problem = assert_problem(response, 422, "validation")
    assert "eventType" in str(problem["detail"]), f"the 422 should name the missing field; got {problem}"
    nul = await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                            json={"eventType": "a.b", "payload": {"k": "nul\u0000byte"}})
    assert_problem(nul, 422)


async def test_messages_are_listed_in_pages_and_found_by_id_or_event_id(client: httpx.AsyncClient,
                                                                        tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    sent = []
    for n in range(5):
        response = await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                                     json={"eventType": "a.b", "eventId": f"e{n}", "payload": {"n": n}})
        sent.append(response.json()["id"])
    seen: list[str] = []
    iterator = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"iterator": iterator} if iterator else {})
        page = (await client.get(f"/api/v1/app/{app_id}/msg", headers=owner.headers, params=params)).json()
        seen += [message["id"] for message in page["data"]]
        iterator = page["iterator"]
        if page["done"]:
            break
    assert seen == sent, f"keyset pages of 2 should return every message once, in order; got {seen}"
    by_event = await client.get(f"/api/v1/app/{app_id}/msg/e3", headers=owner.headers)
    assert by_event.json()["id"] == sent[3], "a message is found by its eventId too"


async def test_resend_makes_the_delivery_pending_and_manual(app: FastAPI, client: httpx.AsyncClient,
                                                            tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    endpoint = (await client.post(f"/api/v1/app/{app_id}/endpoint", headers=owner.headers,
                                  json={"url": PUBLIC_URL})).json()
    message = (await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                                 json={"eventType": "a.b", "payload": {}})).json()
    path = f"/api/v1/app/{app_id}/msg/{message['id']}/endpoint/{endpoint['id']}/resend"
    created = await client.post(path, headers=owner.headers)
    assert created.status_code == 202, created.text
    async with app.state.sessions() as session:
        delivery = (await session.scalars(select(Delivery).where(Delivery.message_id == message["id"]))).one()
        assert (delivery.status, delivery.manual) == ("pending", True), "resend creates a manual delivery"
        later = datetime.now(UTC) + timedelta(hours=1)
        delivery.status, delivery.manual, delivery.next_attempt_at = "failed", False, later
        await session.commit()
    assert (await client.post(path, headers=owner.headers)).status_code == 202
    async with app.state.sessions() as session:
        again = (await session.scalars(select(Delivery).where(Delivery.message_id == message["id"]))).one()
        due = await session.scalar(select(again.next_attempt_at <= func.now()))
    assert (again.id, again.status, again.manual, again.lease_until, due) == (
        delivery.id, "pending", True, None, True), (
        "resend turns the existing delivery pending, manual, and due now")


async def test_attempts_are_listed_by_message_and_by_endpoint(app: FastAPI, client: httpx.AsyncClient,
                                                              tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    endpoint = (await client.post(f"/api/v1/app/{app_id}/endpoint", headers=owner.headers,
                                  json={"url": PUBLIC_URL})).json()
    message = (await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                                 json={"eventType": "a.b", "payload": {}})).json()
    delivery_id = new_id("dlv")
    async with app.state.sessions() as session:  # what a worker writes
        session.add(Delivery(id=delivery_id, tenant_id=owner.tenant_id, app_id=app_id,
                             message_id=message["id"], endpoint_id=endpoint["id"], status="succeeded"))
        await session.flush()
        outcomes = [("failed", None, "connect"), ("failed", 500, "http"), ("succeeded", 200, None)]
        for n, (status, code, error) in enumerate(outcomes):
            session.add(Attempt(id=new_id("atmpt"), tenant_id=owner.tenant_id, app_id=app_id,
                                message_id=message["id"], endpoint_id=endpoint["id"], delivery_id=delivery_id,
                                url=PUBLIC_URL, status=status, response_status_code=code,
                                response_body="ok" if code == 200 else "", duration_ms=12, error_class=error,
                                trigger="manual" if n == 2 else "scheduled"))
            await session.flush()
            await asyncio.sleep(0.002)  # ids made within one millisecond are not in creation order
        await session.commit()
    by_message = (await client.get(f"/api/v1/app/{app_id}/attempt/msg/{message['id']}",
                                   headers=owner.headers, params={"limit": 2})).json()
    assert [a["status"] for a in by_message["data"]] == [2, 2] and not by_message["done"], by_message
    rest = (await client.get(f"/api/v1/app/{app_id}/attempt/msg/{message['id']}", headers=owner.headers,
                             params={"iterator": by_message["iterator"]})).json()
    assert [(a["status"], a["responseStatusCode"], a["triggerType"]) for a in rest["data"]] == [(0, 200, 1)]
    first = by_message["data"][0]
    assert (first["errorClass"], first["responseStatusCode"]) == ("connect", 0), (
        f"an attempt without a response reports status code 0 and its error class; got {first}")
    by_endpoint = (await client.get(f"/api/v1/app/{app_id}/attempt/endpoint/{endpoint['id']}",
                                    headers=owner.headers)).json()
    assert len(by_endpoint["data"]) == 3 and by_endpoint["done"], by_endpoint


async def test_concurrent_duplicates_with_one_key_store_one_message(
        app: FastAPI, client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = await _app_of(client, owner)
    headers = owner.headers | {"Idempotency-Key": "burst"}
    responses = await asyncio.gather(*(client.post(f"/api/v1/app/{app_id}/msg", headers=headers,
                                                   json={"eventType": "a.b", "payload": {"v": 1}})
                                       for _ in range(8)))
    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) <= {202, 409} and 202 in statuses, (
        f"concurrent duplicates get 202 (first or replay) or 409 (in flight); got {statuses}")
    assert await _counts(app, app_id) == (1, 1), "eight concurrent duplicates must store exactly one message"
