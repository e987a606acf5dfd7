"""The service's outside: health routes and error pages that never show a secret.

Settings arrive already loaded (``config.py``); the app uses a secret only at the one call that
needs it (``get_secret_value()`` at connect time) and reports failures by *name* — the failing
dependency, the exception's type — never by message, because driver messages quote URLs.
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .config import Settings

logger = logging.getLogger(__name__)
RETRY_AFTER_S = 5


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="week 12 service")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        try:
            with psycopg.connect(settings.database_url.get_secret_value(), connect_timeout=2):
                pass
        except psycopg.Error as error:
            logger.warning("not ready: database (%s)", type(error).__name__)
            return JSONResponse({"status": "not ready", "failing": "database"}, status_code=503,
                                headers={"Retry-After": str(RETRY_AFTER_S)})
        return JSONResponse({"status": "ready"})

    @app.exception_handler(Exception)
    async def unhandled(request: Request, error: Exception) -> JSONResponse:
        logger.error("unhandled %s on %s %s", type(error).__name__, request.method,
                     request.url.path)
        return JSONResponse({"type": "about:blank", "title": "Internal Server Error",
                             "status": 500}, status_code=500,
                            media_type="application/problem+json")

    return app
