"""Lab: a public API — API keys, per-tier quotas, tenant isolation (api_keys.py, quotas.py, public_api.py).

The API runs for real (uvicorn on loopback, PostgreSQL, Redis); the tests are its clients.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from course import services
from labs.week11_design_practice.api_keys import ApiKeyStore, IssuedKey
from labs.week11_design_practice.public_api import create_app
from labs.week11_design_practice.quotas import Tier

LESSON = "weeks/11-design-practice/README.md, section"
TIERS = {"free": Tier("free", burst=3, refill_per_second=0.05),
         "pro": Tier("pro", burst=20, refill_per_second=0.05)}


class Api:
    """The running API plus a way to issue keys straight into its database (what sign-up would do)."""

    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.database_url = database_url
        self.http = httpx.Client(base_url=url, timeout=20)

    def issue(self, tier: str = "pro", tenant_id: str | None = None) -> IssuedKey:
        async def go() -> IssuedKey:
            async with AsyncConnectionPool(self.database_url, min_size=1, max_size=1) as pool:
                return await ApiKeyStore(pool).issue(tenant_id or f"tenant-{uuid.uuid4().hex[:8]}", tier)
        return asyncio.run(go())

    def call(self, method: str, path: str, key: str | None, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        return self.http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def api(database_url: str, redis_server_url: str,
        serving_factory: Callable[..., AbstractContextManager[str]]) -> Iterator[Api]:
    """One running API for the module; tests stay independent by using fresh tenants."""
    redis_url = services.allocate_redis_db(redis_server_url)
    try:
        with serving_factory(create_app(database_url=database_url, redis_url=redis_url, tiers=TIERS)) as url:
            client = Api(url, database_url)
            yield client
            client.http.close()
    finally:
        services.release_redis_db(redis_url)


def assert_problem(response: httpx.Response, status: int, why: str) -> None:
    assert response.status_code == status, (
        f"{why}: expected {status}; got {response.status_code} {response.text[:200]}")
    assert response.headers.get("content-type", "").startswith("application/problem+json"), (
        f"{why}: errors are RFC 9457 problem documents (application/problem+json); got "
        f"{response.headers.get('content-type')}")


def test_a_key_is_shown_once_behind_a_visible_prefix(api: Api) -> None:
    issued = api.issue()
    assert issued.key.startswith(issued.key_id) and issued.key_id.startswith("bsk_"), (
        f"a key starts with its visible id, which starts with bsk_; got key_id {issued.key_id!r}")
    assert len(issued.key) - len(issued.key_id) >= 20, "after the visible id comes a secret of 20+ characters"
    created = api.call("POST", "/v1/keys", issued.key)
    assert created.status_code == 201, (
        f"POST /v1/keys issues another key: expected 201; got {created.status_code}")
    new_key = created.json()["key"]
    listing = api.call("GET", "/v1/keys", issued.key)
    assert listing.status_code == 200, (
        f"GET /v1/keys: expected 200; got {listing.status_code} {listing.text[:200]}")
    ids = {item["key_id"] for item in listing.json()["data"]}
    assert ids == {issued.key_id, created.json()["key_id"]}, (
        f"the tenant's listing shows both key ids; got {ids}")
    for secret_key in (issued.key, new_key):
        assert secret_key not in listing.text, (
            f"GET /v1/keys showed a full key — a key is shown once, when issued; listings show the id only "
            f"— see {LESSON} 'API keys'")
    assert api.call("GET", "/v1/events", new_key).status_code == 200, "the newly issued key works at once"


def test_keys_are_stored_as_hashes(api: Api) -> None:
    issued = api.issue()
    with psycopg.connect(api.database_url) as conn:
        dump = "\n".join(str(row) for row in conn.execute("SELECT * FROM api_keys").fetchall())
    secret_part = issued.key.removeprefix(issued.key_id).lstrip("_")
    assert issued.key_id in dump, "the visible key id is stored (it is how a key is found and revoked)"
    assert issued.key not in dump and secret_part not in dump, (
        "the api_keys table contains the key in plain text: a database dump, a backup or a replica is "
        "then a "
        f"bag of working keys. Store hash_key(key) (SHA-256) and compare hashes — see {LESSON} 'API keys'")


@pytest.mark.parametrize("how", ["no header", "not bearer", "garbage", "right id, wrong secret",
                                 "unknown id"])
def test_bad_keys_get_the_same_401(api: Api, how: str) -> None:
    issued = api.issue()
    secret = issued.key.removeprefix(issued.key_id + "_")
    keys: dict[str, str | None] = {
        "no header": None, "not bearer": None, "garbage": "sk_%%%_nope",
        "right id, wrong secret": f"{issued.key_id}_{secret[::-1]}",
        "unknown id": "bsk_000000000000_" + secret,
    }
    headers = {"Authorization": f"Basic {issued.key}"} if how == "not bearer" else {}
    response = (api.http.get("/v1/events", headers=headers) if how == "not bearer"
                else api.call("GET", "/v1/events", keys[how]))
    assert_problem(response, 401, how)
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer"), (
        "a 401 says how to authenticate: WWW-Authenticate: Bearer …")


def test_a_revoked_key_is_refused(api: Api) -> None:
    issued = api.issue()
    spare = api.call("POST", "/v1/keys", issued.key).json()
    assert api.call("GET", "/v1/events", spare["key"]).status_code == 200
    revoked = api.call("DELETE", f"/v1/keys/{spare['key_id']}", issued.key)
    assert revoked.status_code == 204, f"DELETE /v1/keys/{{id}}: expected 204; got {revoked.status_code}"
    assert_problem(api.call("GET", "/v1/events", spare["key"]), 401,
                   f"a revoked key must stop working at once — see {LESSON} 'API keys'")
    other = api.issue()
    assert api.call("DELETE", f"/v1/keys/{issued.key_id}", other.key).status_code == 404, (
        "a tenant cannot revoke another tenant's key: 404")
    assert api.call("GET", "/v1/events", issued.key).status_code == 200


def test_tenants_never_see_each_others_data(api: Api) -> None:
    alice, bob = api.issue(), api.issue()
    created = api.call("POST", "/v1/events", alice.key,
                       json={"type": "invoice.paid", "data": {"cents": 4200}})
    assert created.status_code == 201, (
        f"POST /v1/events: expected 201; got {created.status_code} {created.text[:200]}")
    event_id = created.json()["id"]
    assert api.call("GET", f"/v1/events/{event_id}", alice.key).json()["data"] == {"cents": 4200}
    stolen = api.call("GET", f"/v1/events/{event_id}", bob.key)
    assert stolen.status_code == 404, (
        f"another tenant's key read event {event_id}: expected 404, got {stolen.status_code} "
        f"{stolen.text[:160]}. "
        f"Every query filters on the caller's tenant_id (and says 404, not 403) — see {LESSON} 'Tenant "
        "isolation'")
    listed = api.call("GET", "/v1/events", bob.key).json()["data"]
    assert all(item["id"] != event_id for item in listed), (
        "another tenant's listing must not include the event")


def test_quota_per_tier_with_ratelimit_headers(api: Api) -> None:
    free = api.issue("free")
    answers = [api.call("GET", "/v1/events", free.key) for _ in range(TIERS["free"].burst + 1)]
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * TIERS["free"].burst + [429], (
        f"the free tier allows a burst of {TIERS['free'].burst}: expected {TIERS['free'].burst} × 200 then "
        "429; "
        f"got {statuses} — see {LESSON} 'Quotas per tier'")
    first = answers[0].headers
    burst = TIERS["free"].burst
    limit, remaining = first.get("ratelimit-limit"), first.get("ratelimit-remaining")
    assert limit == str(burst) and remaining == str(burst - 1), (
        f"every answer carries RateLimit-Limit and RateLimit-Remaining; the first had {dict(first)}")
    refused = answers[-1]
    assert_problem(refused, 429, "over quota")
    retry_after = refused.headers.get("retry-after", "")
    assert retry_after.isdigit() and int(retry_after) >= 1, (
        f"a 429 carries Retry-After in whole seconds, at least 1; got {retry_after!r}")
    expected = math.ceil(1 / TIERS["free"].refill_per_second)
    assert abs(int(retry_after) - expected) <= 1, (
        f"one token comes back after 1/{TIERS['free'].refill_per_second} = {expected} s; Retry-After said "
        f"{retry_after}")
    pro = api.issue("pro")
    pro_statuses = [api.call("GET", "/v1/events", pro.key).status_code for _ in range(TIERS["pro"].burst)]
    assert pro_statuses == [200] * TIERS["pro"].burst, (
        f"the pro tier allows {TIERS['pro'].burst}; got {pro_statuses}")


def test_the_quota_belongs_to_the_tenant(api: Api) -> None:
    alice = api.issue("free")
    alice_spare = api.call("POST", "/v1/keys", alice.key).json()["key"]
    for _ in range(TIERS["free"].burst - 1):
        api.call("GET", "/v1/events", alice.key)
    assert api.call("GET", "/v1/events", alice_spare).status_code == 429, (
        "a second key of the same tenant must draw from the same quota — else a new key resets it. Key the "
        f"limiter on the tenant, not the key — see {LESSON} 'Quotas per tier'")
    bob = api.issue("free")
    assert api.call("GET", "/v1/events", bob.key).status_code == 200, (
        "another tenant on the same tier was refused: the quota's Redis key must include the tenant, not "
        "only "
        f"the tier — see {LESSON} 'Quotas per tier'")
