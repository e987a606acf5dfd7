"""The API application: ``create_app()`` wires settings, clients, routes, errors and metrics.

Clients (the engine and its pool, the session factory, Redis) are built in the lifespan and kept
on ``app.state`` — never module globals — so each app (each test, each worker process) owns its
own pools and closes them on shutdown.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .api.cache import TtlCache
from .api.deps import API_KEY_CACHE_TTL_S
from .api.metrics import ApiMetrics, MetricsMiddleware
from .api.routes import api_keys, applications, attempts, auth, endpoints, event_types, health, messages
from .core import problems
from .core.config import Settings, get_settings
from .core.db import make_engine, make_sessionmaker
from .core.logging import configure_logging
from .core.redis import make_redis
from .ml import routes as ml_routes
from .services.idempotency import IdempotencyStore
from .services.quotas import Quotas

VERSION = "1.0.0"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = make_engine(settings)
    redis = make_redis(settings)
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.redis = redis
    app.state.quotas = Quotas(redis, settings)
    app.state.idempotency = IdempotencyStore(redis, ttl_s=settings.idempotency_ttl_s)
    app.state.api_key_cache = TtlCache(ttl_s=API_KEY_CACHE_TTL_S)
    app.state.app_cache = TtlCache(ttl_s=API_KEY_CACHE_TTL_S)
    try:
        yield
    finally:
        await redis.aclose()
        await engine.dispose()


def _problem_schemas(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error response typed as ``application/problem+json`` only."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    reference = {"$ref": "#/components/schemas/ProblemBody"}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if problems.PROBLEM_MEDIA_TYPE in content:
                    response["content"] = {problems.PROBLEM_MEDIA_TYPE: {"schema": reference}}
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="anchor", version=VERSION, lifespan=lifespan, responses=problems.responses(503),
                  description="Webhook delivery: tenants send events; anchor signs, delivers, retries and "
                              "reports every attempt. Svix's API shapes for the subset implemented.")
    app.state.settings = settings = settings or get_settings()
    if not structlog.is_configured():  # each uvicorn worker process builds its own app
        configure_logging(level=settings.log_level, json=settings.log_json, role="api")
    app.state.metrics = ApiMetrics()
    problems.install(app)
    for module in (auth, api_keys, applications, event_types, endpoints, messages, attempts, health):
        app.include_router(module.router)
    if os.environ.get("ANCHOR_ML_BUCKET"):  # the optional add-on: served only where a model bucket is set
        app.include_router(ml_routes.router)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.openapi = lambda: _problem_schemas(app)  # type: ignore[method-assign]
    return app
