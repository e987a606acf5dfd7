"""The HTTP surface: routes, the rate-limit dependency, and how a designed failure is answered.

Handlers are plain ``def``: FastAPI runs them on its thread pool, and the blocking Redis and
PostgreSQL clients bound every wait with their own timeouts.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from . import service
from .deps import build_deps, close_deps
from .errors import Unavailable, retry_after_header
from .models import Item, NewItem
from .settings import Settings


def unavailable_response(exc: Unavailable) -> JSONResponse:
    """503 with ``Retry-After``: tells clients and load balancers this is temporary, and when
    to come back — so retries are spread out instead of hammering a recovering dependency."""
    return JSONResponse({"detail": exc.reason}, status_code=503,
                        headers={"Retry-After": retry_after_header(exc.retry_after_s)})


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app factory (``uvicorn …app:create_app --factory``); settings come from the environment."""
    settings = settings or Settings()  # type: ignore[call-arg]  # pydantic-settings reads the env
    deps = build_deps(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        close_deps(deps)

    app = FastAPI(title="Week 08 items", lifespan=lifespan)

    @app.exception_handler(Unavailable)
    async def on_unavailable(_: Request, exc: Unavailable) -> JSONResponse:
        return unavailable_response(exc)

    def rate_limited(request: Request) -> None:
        client = request.headers.get("x-client-id") or (request.client.host if request.client else "?")
        decision = deps.limiter.check(client)
        if not decision.allowed:
            raise HTTPException(429, "rate limit exceeded",
                                headers={"Retry-After": retry_after_header(decision.retry_after_s)})

    items = APIRouter(prefix="/items", dependencies=[Depends(rate_limited)])

    @items.get("/{item_id}")
    def get_item(item_id: uuid.UUID) -> Item:
        item = service.read_item(deps, item_id)
        if item is None:
            raise HTTPException(404, "no such item")
        return item

    @items.post("", status_code=201)
    def post_item(new: NewItem) -> Item:
        return service.create_item(deps, new)

    app.include_router(items)

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Readiness: 200 while anything can be served; 503 naming what is down when nothing can."""
        report = service.readiness(deps)
        # Degraded is still ready: every replica shares these dependencies, so pulling them all
        # out of the load balancer would turn "some requests fail" into "all requests fail".
        if report["status"] != "down":
            return JSONResponse(report)
        checks = report["checks"]
        failing = sorted(name for name, state in checks.items() if state != "up")  # type: ignore[attr-defined]
        return JSONResponse(report | {"detail": f"not ready: {' and '.join(failing)} down"}, status_code=503,
                            headers={"Retry-After": retry_after_header(settings.breaker_reset_timeout_s)})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers. Never checks dependencies — a restart would not fix them."""
        return {"status": "ok"}  # the same answer as weeks 02 and 07

    return app
