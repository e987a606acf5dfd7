"""The ASGI application: ``uvicorn labs.week02_fastapi.main:app``.

Middleware wraps everything (it sees every request, even a 404); the router holds the
endpoints; the limiter's memory lives on ``app.state`` so each app — and each test's app —
counts on its own.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from . import health
from .middleware import RequestContextMiddleware
from .ratelimit import SlidingWindowLimiter
from .routes import router


def create_app() -> FastAPI:
    """A fresh app: its own middleware stack, router and rate-limit memory."""
    app = FastAPI(title="Week 02 service")
    app.add_middleware(RequestContextMiddleware)
    app.state.rate_limiter = SlidingWindowLimiter()
    app.include_router(router)
    app.include_router(health.router)  # /healthz (alive) and /readyz (dependencies answer)
    return app


def configure_logging() -> None:
    """Plain-text logs to stderr that carry the request id (see ``middleware``)."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")


configure_logging()
app = create_app()
