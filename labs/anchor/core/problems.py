"""Errors as RFC 9457 problem details: ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail``, ``instance`` — plus ``code``, the member Svix's SDKs read.

One shape for every failure (a missing id, a bad token, a validation error, an unknown route, a
405) means a client parses errors once. The handlers here turn FastAPI's and Starlette's own
errors into that shape, so no route can leak a bare ``{"detail": …}`` or an HTML 500 page.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Problem types are names, not pages: a URN never sends a client fetching a URL nobody serves.
TYPE_BASE = "urn:anchor:problem:"

UNAVAILABLE_RETRY_AFTER_S = 1

log = structlog.get_logger("anchor.api")


class ProblemBody(BaseModel):
    """The body of every error answer (the OpenAPI schema of 4xx/5xx responses)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int
    detail: str = Field(description="What went wrong, for a person")
    instance: str = Field(description="The request path that failed")
    code: str = Field(description="A stable, machine-readable name of the problem")


class Problem(Exception):
    """Raise from a route or dependency to answer with a problem document."""

    def __init__(self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def not_found(what: str, ref: str) -> Problem:
    """404 for an id that is missing *or* belongs to another tenant — the two must look the same."""
    return Problem(404, "not_found", f"{what} {ref!r} not found")


def problem_response(request: Request, status: int, code: str, detail: str, *,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_BASE + code, "title": HTTPStatus(status).phrase,
            "status": status, "detail": detail, "instance": request.url.path, "code": code, **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(request, exc.status, exc.code, exc.detail, headers=exc.headers, **exc.extra)


def _field_name(location: tuple[Any, ...]) -> str:
    """``("body", "payload", "a")`` → ``payload.a``; ``("query", "limit")`` → ``limit``."""
    parts = [str(part) for part in location[1:]] if location and location[0] in {
        "body", "query", "path", "header", "cookie"} else [str(part) for part in location]
    return ".".join(parts) or "body"


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")),
               "type": str(error.get("type", ""))} for error in exc.errors()]
    detail = "; ".join(f"{_field_name(tuple(error['loc']))}: {error['msg']}" for error in errors)
    return problem_response(request, 422, "validation", detail or "the request is not valid", errors=errors)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).description
    if status == 404:
        detail = f"no route {request.url.path!r}"
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path!r}"
    code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    return problem_response(request, status, code, detail, headers=dict(exc.headers or {}))


def unavailable(request: Request, dependency: str, exc: Exception) -> JSONResponse:
    """503 naming the dependency that does not answer, with ``Retry-After`` (a restart takes seconds)."""
    log.warning("dependency unavailable", dependency=dependency, error=repr(exc), path=request.url.path)
    return problem_response(request, 503, "unavailable", f"{dependency} does not answer; retry shortly",
                            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}, failing=[dependency])


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    """A value PostgreSQL refused (422), PostgreSQL unreachable (503), or our own bug (500).

    A NUL byte or a number out of range that validation let through is the request's fault, not the
    server's; a lost connection (a restart, a failover) is temporary, and the client should retry.
    """
    assert isinstance(exc, DBAPIError)
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if exc.connection_invalidated or (isinstance(exc.orig, psycopg.OperationalError) and not sqlstate):
        return unavailable(request, "postgres", exc)
    if sqlstate.startswith("22"):  # class 22 = data exception
        return problem_response(request, 422, "invalid_value",
                                f"a value cannot be stored: {str(exc.orig).splitlines()[0]}")
    log.exception("database error", path=request.url.path)
    return problem_response(request, 500, "internal", "the server failed; it has been logged")


async def _on_pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    return unavailable(request, "postgres", exc)


async def _on_redis_error(request: Request, exc: Exception) -> JSONResponse:
    return unavailable(request, "redis", exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", path=request.url.path)
    return problem_response(request, 500, "internal", "the server failed; it has been logged")


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem document."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(PoolTimeout, _on_pool_timeout)
    app.add_exception_handler(RedisConnectionError, _on_redis_error)
    app.add_exception_handler(RedisTimeoutError, _on_redis_error)
    app.add_exception_handler(Exception, _on_unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problems a route may answer, typed as problem documents.

    400 belongs on every route with a body: a body that is not UTF-8 cannot even be parsed.
    """
    return {status: {"description": HTTPStatus(status).phrase, "model": ProblemBody,
                     "content": {PROBLEM_MEDIA_TYPE: {}}} for status in statuses}
