"""A small public API: machines authenticate with API keys, spend a per-tier quota, see only their data.

Given: the app, its lifespan, health, readiness and the key routes. Your task:

* :func:`authenticated` — the dependency every ``/v1`` route uses: read ``Authorization: Bearer
  <key>``; ``app.state.keys.authenticate(key)``; no header, another scheme or a bad key → the
  same ``Problem(401, …, headers={"WWW-Authenticate": 'Bearer realm="api"'})``. Then
  ``app.state.quotas.check(record.tenant_id, record.tier)``: refused → ``Problem(429, …)`` with
  ``rate_limit_headers(decision)``; allowed → put those headers on ``response`` and return the record.
* ``create_event``, ``list_events``, ``get_event`` — every query filters on ``caller.tenant_id``;
  another tenant's event is a 404 ``Problem``, exactly like a missing one.

Read weeks/11-design-practice/README.md, sections 'API keys', 'Quotas per tier' and 'Tenant isolation'.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import redis.asyncio as redis
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row  # noqa: F401 — yours to use
from psycopg.types.json import Jsonb  # noqa: F401 — yours to use
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

from . import problems
from .api_keys import SCHEMA as KEYS_SCHEMA
from .api_keys import ApiKeyStore, KeyRecord
from .problems import Problem
from .quotas import DEFAULT_TIERS, Quotas, Tier, rate_limit_headers  # noqa: F401 — yours to use

EVENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    type        text NOT NULL,
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS events_tenant_id ON events (tenant_id, id);
"""


class EventIn(BaseModel):
    type: str = Field(min_length=1, max_length=200, pattern=r"^[a-zA-Z0-9_.]+$")
    data: dict[str, Any] = {}


async def authenticated(request: Request, response: Response) -> KeyRecord:
    """The caller's key record, after it has been authenticated and charged one unit of quota."""
    raise NotImplementedError(
        "authenticated — see weeks/11-design-practice/README.md, section 'API keys'")


Caller = Annotated[KeyRecord, Depends(authenticated)]


def create_app(*, database_url: str, redis_url: str, tiers: Mapping[str, Tier] = DEFAULT_TIERS) -> FastAPI:
    """The API, its pool and Redis client built in the lifespan and kept on ``app.state``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = AsyncConnectionPool(database_url, min_size=1, max_size=5, open=False)
        await pool.open()
        client = redis.Redis.from_url(redis_url)
        async with pool.connection() as conn:
            await conn.execute(KEYS_SCHEMA + EVENTS_SCHEMA)
        app.state.pool, app.state.redis = pool, client
        app.state.keys, app.state.quotas = ApiKeyStore(pool), Quotas(client, tiers)
        try:
            yield
        finally:
            await client.aclose()
            await pool.close()

    app = FastAPI(title="Events API", lifespan=lifespan)
    problems.install(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        failing = []
        try:
            async with request.app.state.pool.connection(timeout=1.0) as conn:
                await conn.execute("SELECT 1")
        except Exception:
            failing.append("postgres")
        try:
            await request.app.state.redis.ping()
        except Exception:
            failing.append("redis")
        if failing:
            return JSONResponse({"status": "unavailable", "failing": failing}, status_code=503,
                                headers={"Retry-After": "1"})
        return JSONResponse({"status": "ready"})

    @app.post("/v1/events", status_code=201)
    async def create_event(event: EventIn, caller: Caller, request: Request) -> dict[str, Any]:
        raise NotImplementedError(
            "create_event — see weeks/11-design-practice/README.md, section 'Tenant isolation'")

    @app.get("/v1/events")
    async def list_events(caller: Caller, request: Request) -> dict[str, Any]:
        raise NotImplementedError(
            "list_events — see weeks/11-design-practice/README.md, section 'Tenant isolation'")

    @app.get("/v1/events/{event_id}")
    async def get_event(event_id: int, caller: Caller, request: Request) -> dict[str, Any]:
        raise NotImplementedError(
            "get_event — see weeks/11-design-practice/README.md, section 'Tenant isolation'")

    @app.post("/v1/keys", status_code=201)
    async def issue_key(caller: Caller, request: Request) -> dict[str, str]:
        # The new key gets the caller's tier: a key must never be able to mint a better one.
        issued = await request.app.state.keys.issue(caller.tenant_id, caller.tier)
        return {"key": issued.key, "key_id": issued.key_id, "tier": issued.tier,
                "note": "store this key now: it is never shown again"}

    @app.get("/v1/keys")
    async def list_keys(caller: Caller, request: Request) -> dict[str, Any]:
        records = await request.app.state.keys.list(caller.tenant_id)
        return {"data": [{"key_id": r.key_id, "tier": r.tier, "created_at": r.created_at.isoformat(),
                          "revoked": r.revoked_at is not None} for r in records]}

    @app.delete("/v1/keys/{key_id}", status_code=204)
    async def revoke_key(key_id: str, caller: Caller, request: Request) -> Response:
        if not await request.app.state.keys.revoke(key_id, tenant_id=caller.tenant_id):
            raise Problem(404, "Not Found", f"no key {key_id}")
        return Response(status_code=204)

    return app


def _event(row: Mapping[str, Any] | None) -> dict[str, Any]:
    assert row is not None
    return {"id": row["id"], "type": row["type"], "data": row["data"],
            "created_at": row["created_at"].isoformat()}
