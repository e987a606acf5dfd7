"""Tenant isolation: every route, called by one tenant with another tenant's ids, answers 404.

Never 403 (that would confirm the id exists) and never data. Each query filters on the caller's
tenant, so a foreign id is indistinguishable from a missing one; this matrix tries every route,
and also another tenant's endpoint or message under the caller's *own* application.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from anchor.tests.helpers import PUBLIC_URL, Tenant, assert_problem, make_tenant

pytestmark = pytest.mark.anyio

SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"  # base64 of 24 bytes


@dataclass(frozen=True)
class World:
    owner: Tenant
    intruder: Tenant
    ids: dict[str, str]  # the owner's ids; "own_app" is the intruder's


@pytest.fixture(scope="module")
async def world(client: httpx.AsyncClient) -> World:
    owner, intruder = await make_tenant(client), await make_tenant(client)
    app = (await client.post("/api/v1/app", json={"name": "Owner's customer", "uid": "owner-customer"},
                             headers=owner.headers)).json()
    endpoint = (await client.post(f"/api/v1/app/{app['id']}/endpoint", headers=owner.headers, json={
        "url": PUBLIC_URL, "secret": SECRET, "description": "owner's private endpoint"})).json()
    message = (await client.post(f"/api/v1/app/{app['id']}/msg", headers=owner.headers, json={
        "eventType": "invoice.paid", "eventId": "owner-event-1", "payload": {"card": "4242-owner"}})).json()
    event_type = await client.post("/api/v1/event-type", headers=owner.headers,
                                   json={"name": "invoice.paid", "description": "owner's type"})
    assert event_type.status_code == 201, event_type.text
    own_app = (await client.post("/api/v1/app", json={"name": "Intruder's"}, headers=intruder.headers)).json()
    return World(owner=owner, intruder=intruder, ids={
        "app": app["id"], "app_uid": "owner-customer", "ep": endpoint["id"], "msg": message["id"],
        "event_id": "owner-event-1", "key": owner.api_key_id, "own_app": own_app["id"]})


ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/api/v1/app/{app}", None),
    ("GET", "/api/v1/app/{app_uid}", None),
    ("PUT", "/api/v1/app/{app}", {"name": "stolen"}),
    ("PATCH", "/api/v1/app/{app}", {"name": "stolen"}),
    ("DELETE", "/api/v1/app/{app}", None),
    ("GET", "/api/v1/app/{app}/endpoint", None),
    ("POST", "/api/v1/app/{app}/endpoint", {"url": PUBLIC_URL}),
    ("GET", "/api/v1/app/{app}/endpoint/{ep}", None),
    ("PUT", "/api/v1/app/{app}/endpoint/{ep}", {"url": PUBLIC_URL}),
    ("PATCH", "/api/v1/app/{app}/endpoint/{ep}", {"disabled": True}),
    ("DELETE", "/api/v1/app/{app}/endpoint/{ep}", None),
    ("GET", "/api/v1/app/{app}/endpoint/{ep}/secret", None),
    ("POST", "/api/v1/app/{app}/endpoint/{ep}/secret/rotate", {}),
    ("POST", "/api/v1/app/{app}/endpoint/{ep}/recover", {"since": "2020-01-01T00:00:00Z"}),
    ("POST", "/api/v1/app/{app}/msg", {"eventType": "x.y", "payload": {}}),
    ("GET", "/api/v1/app/{app}/msg", None),
    ("GET", "/api/v1/app/{app}/msg/{msg}", None),
    ("POST", "/api/v1/app/{app}/msg/{msg}/endpoint/{ep}/resend", None),
    ("GET", "/api/v1/app/{app}/attempt/msg/{msg}", None),
    ("GET", "/api/v1/app/{app}/attempt/endpoint/{ep}", None),
    # the intruder's own application, with the owner's endpoint and message
    ("GET", "/api/v1/app/{own_app}/endpoint/{ep}", None),
    ("PATCH", "/api/v1/app/{own_app}/endpoint/{ep}", {"disabled": True}),
    ("GET", "/api/v1/app/{own_app}/endpoint/{ep}/secret", None),
    ("GET", "/api/v1/app/{own_app}/msg/{msg}", None),
    ("GET", "/api/v1/app/{own_app}/msg/{event_id}", None),
    ("POST", "/api/v1/app/{own_app}/msg/{msg}/endpoint/{ep}/resend", None),
    ("GET", "/api/v1/app/{own_app}/attempt/msg/{msg}", None),
    ("GET", "/api/v1/app/{own_app}/attempt/endpoint/{ep}", None),
    ("GET", "/api/v1/event-type/invoice.paid", None),
    ("PUT", "/api/v1/event-type/invoice.paid", {"description": "stolen"}),
    ("DELETE", "/api/v1/event-type/invoice.paid", None),
    ("DELETE", "/api/v1/api-keys/{key}", None),
]


@pytest.mark.parametrize(("method", "template", "body"), ROUTES, ids=[f"{m} {t}" for m, t, _ in ROUTES])
async def test_another_tenants_ids_are_not_found(method: str, template: str, body: dict[str, object] | None,
                                                 client: httpx.AsyncClient, world: World) -> None:
    path = template.format(**world.ids)
    response = await client.request(method, path, json=body, headers=world.intruder.headers)
    problem = assert_problem(response, 404, "not_found")
    for secret_value in ("4242-owner", SECRET, "owner's private endpoint", world.owner.tenant_id):
        assert secret_value not in response.text, (
            f"{method} {template} with another tenant's ids leaked {secret_value!r}: {problem}")


async def test_the_owner_still_has_everything(client: httpx.AsyncClient, world: World) -> None:
    """Run after the matrix: no intruder's PUT, PATCH, DELETE or rotate changed the owner's data."""
    ids, headers = world.ids, world.owner.headers
    app = await client.get(f"/api/v1/app/{ids['app']}", headers=headers)
    assert app.status_code == 200 and app.json()["name"] == "Owner's customer", app.text
    endpoint = await client.get(f"/api/v1/app/{ids['app']}/endpoint/{ids['ep']}", headers=headers)
    assert endpoint.status_code == 200 and endpoint.json()["disabled"] is False, endpoint.text
    secret = await client.get(f"/api/v1/app/{ids['app']}/endpoint/{ids['ep']}/secret", headers=headers)
    assert secret.json()["key"] == SECRET, "an intruder's rotate must not have changed the owner's secret"
    event_type = await client.get("/api/v1/event-type/invoice.paid", headers=headers)
    assert event_type.json()["description"] == "owner's type", event_type.text
    still = await client.get("/api/v1/app", headers=headers)
    assert still.status_code == 200, "an intruder revoked the owner's API key"


async def test_lists_show_only_the_callers_rows(client: httpx.AsyncClient, world: World) -> None:
    apps = (await client.get("/api/v1/app", headers=world.intruder.headers)).json()["data"]
    assert world.ids["app"] not in {app["id"] for app in apps}, "the app list showed another tenant's app"
    types = (await client.get("/api/v1/event-type", headers=world.intruder.headers)).json()["data"]
    assert types == [], f"the event-type list showed another tenant's types: {types}"
    keys = (await client.get("/api/v1/api-keys", headers=world.intruder.headers)).json()["data"]
    assert {key["id"] for key in keys} == {world.intruder.api_key_id}, f"foreign keys listed: {keys}"
