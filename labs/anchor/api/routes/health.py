"""Liveness, readiness and metrics — what a load balancer and Prometheus ask."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ...core.problems import Problem, responses

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 2.0
NOT_READY_RETRY_AFTER_S = 5


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers. Nothing else is checked: a restart would not fix a database outage."""
    return {"status": "ok"}


@router.get("/readyz", responses=responses(503))
async def readyz(request: Request) -> JSONResponse:
    """PostgreSQL and Redis both answer within 2 s; else 503 naming the one that did not."""
    failing: dict[str, str] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        failing["postgres"] = type(exc).__name__
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await request.app.state.redis.ping()
    except Exception as exc:
        failing["redis"] = type(exc).__name__
    if failing:
        detail = ", ".join(f"{name} does not answer ({error})" for name, error in failing.items())
        raise Problem(503, "not_ready", detail, headers={"Retry-After": str(NOT_READY_RETRY_AFTER_S)},
                      failing=sorted(failing))
    return JSONResponse({"status": "ready", "postgres": "ok", "redis": "ok"})


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
