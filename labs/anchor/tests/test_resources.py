"""Applications, event types and endpoints: CRUD in Svix's shapes, keyset pages, signing secrets with
rotation, recovery of failed deliveries, and re-enabling an endpoint the service disabled."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from anchor.core.config import Settings
from anchor.core.ids import new_id
from anchor.models import Delivery, Endpoint, EndpointSecret
from anchor.tests.helpers import PUBLIC_URL, Tenant, assert_problem
from fastapi import FastAPI
from sqlalchemy import func, select, update

pytestmark = pytest.mark.anyio

MakeTenant = Callable[[], Awaitable[Tenant]]


async def _all_pages(client: httpx.AsyncClient, path: str, headers: dict[str, str], limit: int) -> list[str]:
    ids: list[str] = []
    iterator = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": limit} | ({"iterator": iterator} if iterator else {})
        page = (await client.get(path, headers=headers, params=params)).json()
        ids += [item.get("id") or item["name"] for item in page["data"]]
        iterator = page["iterator"]
        if page["done"]:
            return ids
    pytest.fail(f"{path} never answered done: true")


async def test_application_crud_by_id_and_uid(client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    created = await client.post("/api/v1/app", headers=owner.headers, json={
        "name": "Shop", "uid": "shop-1", "rateLimit": 50, "metadata": {"plan": "pro"}})
    assert created.status_code == 201, created.text
    body = created.json()
    assert {"id", "name", "uid", "rateLimit", "metadata", "createdAt", "updatedAt"} <= set(body), body
    assert (body["uid"], body["rateLimit"], body["metadata"]) == ("shop-1", 50, {"plan": "pro"}), body
    by_uid = await client.get("/api/v1/app/shop-1", headers=owner.headers)
    assert by_uid.json()["id"] == body["id"], "an application is found by its uid too"
    patched = await client.patch("/api/v1/app/shop-1", headers=owner.headers, json={"name": "Shop 2"})
    assert (patched.json()["name"], patched.json()["rateLimit"]) == ("Shop 2", 50), (
        "PATCH changes only the fields it is given")
    replaced = await client.put(f"/api/v1/app/{body['id']}", headers=owner.headers, json={"name": "Shop 3"})
    assert (replaced.json()["name"], replaced.json()["uid"], replaced.json()["rateLimit"]) == (
        "Shop 3", None, None), "PUT replaces the whole application"
    duplicate = await client.post("/api/v1/app", headers=owner.headers, json={"name": "x", "uid": "dup"})
    assert duplicate.status_code == 201
    again = await client.post("/api/v1/app", headers=owner.headers, json={"name": "y", "uid": "dup"})
    assert_problem(again, 409)
    assert (await client.delete(f"/api/v1/app/{body['id']}", headers=owner.headers)).status_code == 204
    assert_problem(await client.get(f"/api/v1/app/{body['id']}", headers=owner.headers), 404, "not_found")


async def test_applications_come_in_keyset_pages(client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    made = [(await client.post("/api/v1/app", headers=owner.headers, json={"name": f"a{n}"})).json()["id"]
            for n in range(5)]
    listed = await _all_pages(client, "/api/v1/app", owner.headers, limit=2)
    assert listed[1:] == made, (
        f"pages of 2 should list the operational app and then each app once, in order; got {listed}")
    assert_problem(await client.get("/api/v1/app", headers=owner.headers, params={"limit": 0}), 422)
    assert_problem(await client.get("/api/v1/app", headers=owner.headers, params={"limit": 251}), 422)


async def test_event_type_crud(client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    for name in ("user.created", "invoice.paid", "user.deleted"):
        response = await client.post("/api/v1/event-type", headers=owner.headers,
                                     json={"name": name, "description": f"when {name}"})
        assert response.status_code == 201, response.text
    assert_problem(await client.post("/api/v1/event-type", headers=owner.headers,
                                     json={"name": "user.created", "description": ""}), 409)
    assert await _all_pages(client, "/api/v1/event-type", owner.headers, limit=2) == [
        "invoice.paid", "user.created", "user.deleted"]
    updated = await client.put("/api/v1/event-type/user.created", headers=owner.headers,
                               json={"description": "new", "archived": True})
    assert (updated.json()["description"], updated.json()["archived"]) == ("new", True), updated.text
    assert (await client.delete("/api/v1/event-type/user.created", headers=owner.headers)).status_code == 204
    assert_problem(await client.get("/api/v1/event-type/user.created", headers=owner.headers), 404)


async def _endpoint(client: httpx.AsyncClient, owner: Tenant, **fields: Any) -> tuple[str, dict[str, Any]]:
    app_id = (await client.post("/api/v1/app", headers=owner.headers, json={"name": "c"})).json()["id"]
    response = await client.post(f"/api/v1/app/{app_id}/endpoint", headers=owner.headers,
                                 json={"url": PUBLIC_URL} | fields)
    assert response.status_code == 201, response.text
    return app_id, response.json()


async def test_endpoint_crud_with_the_anchor_extensions(client: httpx.AsyncClient,
                                                        tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id, endpoint = await _endpoint(client, owner, uid="main", filterTypes=["invoice.paid"],
                                       channels=["eu"], rateLimit=10, maxConcurrency=4, ordered=True,
                                       description="d")
    expected = {"uid": "main", "filterTypes": ["invoice.paid"], "channels": ["eu"], "rateLimit": 10,
                "maxConcurrency": 4, "ordered": True, "disabled": False, "disabledReason": None, "version": 1}
    assert {key: endpoint[key] for key in expected} == expected, endpoint
    path = f"/api/v1/app/{app_id}/endpoint"
    assert (await client.get(f"{path}/main", headers=owner.headers)).json()["id"] == endpoint["id"]
    patched = (await client.patch(f"{path}/{endpoint['id']}", headers=owner.headers,
                                  json={"rateLimit": None, "description": "e"})).json()
    assert (patched["rateLimit"], patched["description"], patched["maxConcurrency"]) == (None, "e", 4), (
        f"PATCH with rateLimit null clears it and leaves maxConcurrency; got {patched}")
    replaced = (await client.put(f"{path}/{endpoint['id']}", headers=owner.headers,
                                 json={"url": "https://203.0.113.11/other"})).json()
    assert (replaced["url"], replaced["filterTypes"], replaced["ordered"]) == (
        "https://203.0.113.11/other", None, False), "PUT replaces the whole endpoint"
    second = await client.post(path, headers=owner.headers, json={"url": PUBLIC_URL})
    assert await _all_pages(client, path, owner.headers, limit=1) == [endpoint["id"], second.json()["id"]]
    assert (await client.delete(f"{path}/{endpoint['id']}", headers=owner.headers)).status_code == 204
    assert_problem(await client.get(f"{path}/{endpoint['id']}", headers=owner.headers), 404)


async def test_a_secret_is_generated_or_taken_and_rotation_keeps_the_old_one_for_the_grace_period(
        app: FastAPI, client: httpx.AsyncClient, tenant: MakeTenant, settings: Settings) -> None:
    owner = await tenant()
    app_id, endpoint = await _endpoint(client, owner)
    path = f"/api/v1/app/{app_id}/endpoint/{endpoint['id']}"
    generated = (await client.get(f"{path}/secret", headers=owner.headers)).json()["key"]
    assert generated.startswith("whsec_") and len(base64.b64decode(generated.removeprefix("whsec_"))) == 24, (
        f"a generated secret is whsec_ + base64 of 24 random bytes; got {generated!r}")
    assert "secret" not in endpoint, "EndpointOut does not carry the secret"
    rotated = await client.post(f"{path}/secret/rotate", headers=owner.headers, json={})
    assert rotated.status_code == 204, rotated.text
    current = (await client.get(f"{path}/secret", headers=owner.headers)).json()["key"]
    assert current != generated and current.startswith("whsec_"), "rotation makes a new current secret"
    async with app.state.sessions() as session:
        old_expiry = await session.scalar(select(EndpointSecret.expires_at - func.now()).where(
            EndpointSecret.endpoint_id == endpoint["id"], EndpointSecret.secret == generated))
    assert old_expiry is not None and abs(old_expiry.total_seconds() - settings.secret_grace_s) < 60, (
        f"the old secret keeps signing for secret_grace_s ({settings.secret_grace_s:g} s); "
        f"it expires in {old_expiry}")
    chosen = "whsec_" + base64.b64encode(b"k" * 32).decode()
    await client.post(f"{path}/secret/rotate", headers=owner.headers, json={"key": chosen})
    assert (await client.get(f"{path}/secret", headers=owner.headers)).json()["key"] == chosen
    assert_problem(await client.post(f"{path}/secret/rotate", headers=owner.headers, json={"key": "short"}),
                   422, "invalid_secret")


async def test_recover_sets_failed_and_skipped_deliveries_since_then_pending(
        app: FastAPI, client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id, endpoint = await _endpoint(client, owner)
    now = datetime.now(UTC)
    statuses = {"failed": now, "skipped": now, "succeeded": now, "pending": now,
                "failed-long-ago": now - timedelta(days=3)}
    async with app.state.sessions() as session:
        ids = {}
        for label, created in statuses.items():
            message = (await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                                         json={"eventType": "a.b", "payload": {}})).json()
            ids[label] = new_id("dlv")
            session.add(Delivery(id=ids[label], tenant_id=owner.tenant_id, app_id=app_id,
                                 message_id=message["id"], endpoint_id=endpoint["id"],
                                 status=label.split("-")[0], attempts=8, created_at=created,
                                 next_attempt_at=now + timedelta(hours=5)))
        await session.commit()
    path = f"/api/v1/app/{app_id}/endpoint/{endpoint['id']}/recover"
    since = (now - timedelta(hours=1)).isoformat()
    response = await client.post(path, headers=owner.headers, json={"since": since})
    assert response.status_code == 202 and response.json()["recovered"] == 2, response.text
    async with app.state.sessions() as session:
        rows = {row.id: row for row in (await session.scalars(select(Delivery).where(
            Delivery.endpoint_id == endpoint["id"]))).all()}
        due = await session.scalar(select(func.now()))
    for label in ("failed", "skipped"):
        row = rows[ids[label]]
        assert (row.status, row.attempts, row.next_attempt_at <= due) == ("pending", 0, True), (
            f"a {label} delivery since `since` becomes pending, attempts 0, due now")
    assert rows[ids["failed-long-ago"]].status == "failed", "deliveries created before `since` are left alone"
    assert rows[ids["succeeded"]].status == "succeeded", "succeeded deliveries are never recovered"


async def test_a_disabled_endpoint_refuses_recover_until_patched_enabled(
        app: FastAPI, client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id, endpoint = await _endpoint(client, owner)
    async with app.state.sessions() as session:  # what the worker's disabling rule writes
        await session.execute(update(Endpoint).where(Endpoint.id == endpoint["id"]).values(
            disabled=True, disabled_reason="gone", failing_since=func.now()))
        await session.commit()
    path = f"/api/v1/app/{app_id}/endpoint/{endpoint['id']}"
    shown = (await client.get(path, headers=owner.headers)).json()
    assert (shown["disabled"], shown["disabledReason"]) == (True, "gone"), shown
    assert_problem(await client.post(f"{path}/recover", headers=owner.headers,
                                     json={"since": "2020-01-01T00:00:00Z"}), 409, "endpoint_disabled")
    enabled = (await client.patch(path, headers=owner.headers, json={"disabled": False})).json()
    assert (enabled["disabled"], enabled["disabledReason"]) == (False, None), enabled
    async with app.state.sessions() as session:
        failing_since = await session.scalar(
            select(Endpoint.failing_since).where(Endpoint.id == endpoint["id"]))
    assert failing_since is None, "re-enabling clears failing_since, so the disable clock starts afresh"
    recovered = await client.post(f"{path}/recover", headers=owner.headers,
                                  json={"since": "2020-01-01T00:00:00Z"})
    assert recovered.status_code == 202, recovered.text


async def test_unknown_routes_methods_and_bodies_are_problems(client: httpx.AsyncClient,
                                                              tenant: MakeTenant) -> None:
    owner = await tenant()
    assert_problem(await client.get("/api/v1/nothing-here", headers=owner.headers), 404)
    assert_problem(await client.delete("/api/v1/app", headers=owner.headers), 405)
    problem = assert_problem(await client.post("/api/v1/app", headers=owner.headers, json={"uid": "no name"}),
                             422, "validation")
    assert "name" in str(problem["detail"]), f"a validation problem names the field; got {problem['detail']}"
    bad_json = await client.post("/api/v1/app", headers=owner.headers | {"content-type": "application/json"},
                                 content=b"{not json")
    assert_problem(bad_json, 422)
