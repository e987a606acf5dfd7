"""What operators and load balancers use: liveness, readiness naming the failing dependency, metrics
by route template, the OpenAPI document and its docs page, and migrations that go both ways."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import httpx
import psycopg
import pytest
from anchor.core.config import Settings
from anchor.main import create_app
from anchor.migrations import downgrade, upgrade
from anchor.tests.helpers import Tenant, assert_problem
from fastapi import FastAPI

pytestmark = pytest.mark.anyio

MakeTenant = Callable[[], Awaitable[Tenant]]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_healthz_and_readyz_answer_when_all_is_well(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text


@pytest.mark.parametrize("broken", ["postgres", "redis"])
async def test_readyz_is_503_naming_the_dependency_that_does_not_answer(broken: str,
                                                                        settings: Settings) -> None:
    dead = _closed_port()
    update = ({"database_url": f"postgresql://anchor:x@127.0.0.1:{dead}/anchor"} if broken == "postgres"
              else {"redis_url": f"redis://127.0.0.1:{dead}/0"})
    application = create_app(settings.model_copy(update=update))
    async with application.router.lifespan_context(application), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://anchor.test") as client:
        alive = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert alive.status_code == 200, "liveness does not depend on PostgreSQL or Redis"
    problem = assert_problem(ready, 503, "not_ready")
    assert problem.get("failing") == [broken] and broken in str(problem["detail"]), (
        f"readyz should name {broken} as the failing dependency; got {problem}")
    assert ready.headers.get("retry-after", "").isdigit(), "every 503 carries Retry-After"


@pytest.mark.parametrize("broken", ["postgres", "redis"])
async def test_an_unreachable_dependency_is_a_503_with_retry_after_not_a_500(
        broken: str, settings: Settings, client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = (await client.post("/api/v1/app", headers=owner.headers, json={"name": "d"})).json()["id"]
    dead = _closed_port()
    update = ({"database_url": f"postgresql://anchor:x@127.0.0.1:{dead}/anchor"} if broken == "postgres"
              else {"redis_url": f"redis://127.0.0.1:{dead}/0"})
    application = create_app(settings.model_copy(update=update))
    async with application.router.lifespan_context(application), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://anchor.test") as broken_client:
        response = await broken_client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                                            json={"eventType": "a.b", "payload": {}})
    problem = assert_problem(response, 503, "unavailable")
    assert problem.get("failing") == [broken], f"the 503 should name {broken}; got {problem}"
    assert response.headers.get("retry-after") == "1", "a 503 tells the client when to retry"


async def test_metrics_count_requests_by_route_template_and_ingested_messages(
        client: httpx.AsyncClient, tenant: MakeTenant) -> None:
    owner = await tenant()
    app_id = (await client.post("/api/v1/app", headers=owner.headers, json={"name": "m"})).json()["id"]
    before = (await client.get("/metrics")).text
    await client.post(f"/api/v1/app/{app_id}/msg", headers=owner.headers,
                      json={"eventType": "a", "payload": {}})
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/app/{app_id}/msg"' in text, (
        "request metrics are labelled by the route template, never by the concrete path (one series per id "
        "would grow without bound)")
    assert app_id not in text, "a concrete id appeared in a metric label"

    def ingested(exposition: str) -> float:
        line = next(line for line in exposition.splitlines()
                    if line.startswith("anchor_messages_ingested_total"))
        return float(line.split()[-1])

    assert ingested(text) == ingested(before) + 1, (
        "anchor_messages_ingested_total counts each accepted message")
    assert "anchor_http_request_duration_seconds_bucket" in text, "request latency is a histogram"


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "/api/v1/app/{app_id}/msg" in schema["paths"], "the OpenAPI document lists the ingest route"
    errors = schema["paths"]["/api/v1/app/{app_id}/msg"]["post"]["responses"]["429"]["content"]
    assert list(errors) == ["application/problem+json"], (
        f"errors are documented as problem+json; got {errors}")
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower(), "the interactive docs are served"


def test_migrations_upgrade_downgrade_and_upgrade_again(make_schema: Callable[[str], str]) -> None:
    url = make_schema("migrations")

    def tables() -> set[str]:
        with psycopg.connect(url) as connection:
            rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            return {row[0] for row in rows} - {"alembic_version"}

    expected = {"tenants", "users", "api_keys", "applications", "event_types", "endpoints",
                "endpoint_secrets", "messages", "outbox", "deliveries", "attempts"}
    upgrade(url)
    assert tables() == expected, f"upgrade head should create every table; got {sorted(tables())}"
    downgrade(url)
    assert tables() == set(), f"downgrade base should drop every table; left {sorted(tables())}"
    upgrade(url)
    assert tables() == expected, "upgrading again after a downgrade must work"


async def test_an_app_built_from_settings_serves_its_own_state(app: FastAPI) -> None:
    for name in ("settings", "engine", "sessions", "redis"):
        assert hasattr(app.state, name), f"create_app's lifespan puts {name} on app.state"
