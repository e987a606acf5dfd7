"""The notes API: a small contract that is right, served by any number of identical instances.

``uvicorn labs.week09_scaling.api:create_app --factory`` (settings from the environment).

The contract a client can rely on:

* every path is versioned (``/v1/…``); ``/healthz`` and ``/readyz`` are operational, unversioned;
* every error — ours, a validation error, an unknown route, a wrong method — is an RFC 9457
  problem document (``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``);
* lists are paged by an opaque cursor (a position, not an offset: inserts cannot shift it);
* ``POST /v1/notes`` takes an ``Idempotency-Key``, so a client may retry it safely;
* every 429 and 503 carries ``Retry-After``.

The instance keeps nothing between requests: sessions, limiter counters, idempotency records
and the notes live in Redis (``state.py``, ``idempotency.py``, ``store.py``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.status import HTTP_201_CREATED

from .idempotency import IdempotencyConflict, IdempotencyStore, RequestInProgress, StoredResponse
from .settings import Settings
from .state import RateLimiter, Sessions, retry_after_header
from .store import NoteStore

PROBLEM_JSON = "application/problem+json"
PROBLEMS = "https://backend-semester.example/problems/"


# --------------------------------------------------------------------------- problem documents


class Problem(Exception):
    """An error a client sees, raised anywhere and answered as an RFC 9457 problem document."""

    def __init__(self, status: int, title: str, detail: str, *, slug: str | None = None,
                 headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.type = PROBLEMS + slug if slug else "about:blank"
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body = {"type": problem.type, "title": problem.title, "status": problem.status,
            "detail": problem.detail, "instance": request.url.path, **problem.extensions}
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


class ProblemModel(BaseModel):
    """The documented shape of every error (RFC 9457); extensions may add members."""

    type: str
    title: str
    status: int
    detail: str
    instance: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemModel, "content": {PROBLEM_JSON: {}}, "description": description}
    for status, description in [(400, "Bad request"), (401, "No valid session"), (404, "Not found"),
                                (409, "Same Idempotency-Key still in progress"),
                                (422, "Invalid request, or Idempotency-Key reused with another body"),
                                (429, "Rate limited; see Retry-After")]
}


def install_problem_handlers(app: FastAPI) -> None:
    """Turn every error FastAPI or Starlette can raise into a problem document."""

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
                  for error in exc.errors()]
        return problem_response(request, Problem(422, "Invalid request", "the request does not match "
                                                 "the API's schema; see errors", slug="validation-error",
                                                 errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(request, Problem(exc.status_code, title, detail, headers=exc.headers))

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, Problem(500, "Internal Server Error", "the server failed; "
                                                 "it has been logged"))


# --------------------------------------------------------------------------- cursors


def encode_cursor(last_id: int) -> str:
    """An opaque cursor: the position after note ``last_id``, not a page number or an offset."""
    return base64.urlsafe_b64encode(f"before:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The note id a cursor points before; ``ValueError`` for anything we did not issue."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("not a cursor") from exc
    prefix, _, number = text.partition(":")
    if prefix != "before" or not number.isdigit():
        raise ValueError("not a cursor")
    return int(number)


# --------------------------------------------------------------------------- schemas


class SessionIn(BaseModel):
    user: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")


class SessionOut(BaseModel):
    token: str
    user: str
    expires_in_s: float


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=500)


class NoteOut(BaseModel):
    id: int
    author: str
    text: str
    created_at: str


class NotePage(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None


# --------------------------------------------------------------------------- the app


@dataclass(frozen=True)
class Services:
    """What every request needs, built once per app and kept on ``app.state.services``."""

    settings: Settings
    client: redis.Redis
    sessions: Sessions
    limiter: RateLimiter
    idempotency: IdempotencyStore
    notes: NoteStore


def services(request: Request) -> Services:
    """The app's :class:`Services`, as a dependency."""
    return request.app.state.services  # type: ignore[no-any-return]


Deps = Annotated[Services, Depends(services)]


def limit(deps: Services, client_key: str, response: Response) -> None:
    """Count the request against the client's limit; over it, a 429 with Retry-After."""
    decision = deps.limiter.hit(client_key)
    headers = {"RateLimit-Limit": str(decision.limit), "RateLimit-Remaining": str(decision.remaining)}
    if not decision.allowed:
        raise Problem(429, "Too Many Requests", f"limit of {decision.limit} requests per window reached",
                      slug="rate-limited", headers=headers | {"Retry-After": retry_after_header(decision)})
    response.headers.update(headers)


def current_user(deps: Deps, response: Response,
                 authorization: Annotated[str | None, Header()] = None) -> str:
    """The session's user (any instance can tell: sessions live in Redis), rate-limited."""
    scheme, _, token = (authorization or "").partition(" ")
    user = deps.sessions.user_for(token) if scheme.lower() == "bearer" and token else None
    if user is None:
        raise Problem(401, "Unauthorized", "send Authorization: Bearer <token> from POST /v1/sessions",
                      slug="no-session", headers={"WWW-Authenticate": "Bearer"})
    limit(deps, f"user:{user}", response)
    return user


User = Annotated[str, Depends(current_user)]
router = APIRouter()


@router.post("/v1/sessions", status_code=HTTP_201_CREATED, response_model=SessionOut, responses=ERRORS)
def create_session(body: SessionIn, request: Request, response: Response, deps: Deps) -> SessionOut:
    """Log in (no password: the lab is about where the session lives), limited per client address."""
    limit(deps, f"ip:{request.client.host if request.client else 'unknown'}", response)
    return SessionOut(token=deps.sessions.create(body.user), user=body.user,
                      expires_in_s=deps.settings.session_ttl_s)


@router.get("/v1/notes", response_model=NotePage, responses=ERRORS)
def list_notes(user: User, deps: Deps, limit: Annotated[int, Query(ge=1, le=100)] = 20,
               cursor: Annotated[str | None, Query(max_length=200)] = None) -> NotePage:
    """The user's notes, newest first, ``limit`` at a time; ``next_cursor`` is null on the last page."""
    try:
        before_id = decode_cursor(cursor) if cursor else None
    except ValueError:
        raise Problem(400, "Invalid cursor", "use next_cursor exactly as a previous page returned it",
                      slug="invalid-cursor") from None
    rows = deps.notes.page(user, before_id=before_id, limit=limit + 1)  # one extra: is there more?
    items = rows[:limit]
    return NotePage(items=[NoteOut(**row) for row in items],
                    next_cursor=encode_cursor(items[-1]["id"]) if len(rows) > limit else None)


@router.post("/v1/notes", status_code=HTTP_201_CREATED, response_model=NoteOut, responses=ERRORS)
def create_note(user: User, body: NoteIn, response: Response, deps: Deps,
                idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> Any:
    """Create a note once per ``Idempotency-Key``: a retry replays, another body is a 422."""
    if not idempotency_key:
        raise Problem(400, "Idempotency-Key required", "send a unique Idempotency-Key header with every "
                      "POST, and the same one when you retry it", slug="idempotency-key-missing")
    try:
        stored = deps.idempotency.execute(f"{user}:{idempotency_key}", body.model_dump(),
                                          lambda: StoredResponse(201, deps.notes.create(user, body.text)))
    except IdempotencyConflict as exc:
        raise Problem(422, "Idempotency-Key reused", str(exc), slug="idempotency-key-reused") from None
    except RequestInProgress as exc:
        raise Problem(409, "Request in progress", str(exc), slug="request-in-progress",
                      headers={"Retry-After": "1"}) from None
    response.headers["Location"] = f"/v1/notes/{stored.body['id']}"
    if stored.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return stored.body


@router.get("/v1/notes/{note_id}", response_model=NoteOut, responses=ERRORS)
def get_note(user: User, note_id: int, deps: Deps) -> Any:
    """One of the user's notes; another user's note is as missing as one that never existed (404)."""
    note = deps.notes.get(user, note_id)
    if note is None:
        raise Problem(404, "Not Found", f"you have no note {note_id}", slug="note-not-found")
    return note


@router.get("/healthz", include_in_schema=False)
def healthz(deps: Deps) -> dict[str, str]:
    """Alive: the process answers. Says nothing about Redis, on purpose."""
    return {"status": "ok", "instance": deps.settings.instance}


@router.get("/readyz", include_in_schema=False)
def readyz(deps: Deps) -> dict[str, str]:
    """Ready: Redis answers. A balancer stops sending traffic while this is 503."""
    try:
        deps.client.ping()
    except redis.RedisError:
        raise Problem(503, "Not ready", "redis does not answer", slug="not-ready",
                      headers={"Retry-After": "1"}, checks={"redis": "down"}) from None
    return {"status": "ok", "redis": "up"}


def create_app(settings: Settings | None = None) -> FastAPI:
    """A fresh app; every instance built from the same settings behaves as one."""
    settings = settings or Settings.from_env()
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True,
                                  socket_timeout=settings.redis_timeout_s,
                                  socket_connect_timeout=settings.redis_timeout_s)
    app = FastAPI(title="Notes API", version="1.0.0")
    app.state.services = Services(
        settings=settings, client=client,
        sessions=Sessions(client, ttl_s=settings.session_ttl_s),
        limiter=RateLimiter(client, limit=settings.rate_limit, window_s=settings.rate_window_s),
        idempotency=IdempotencyStore(client, ttl_s=settings.idempotency_ttl_s),
        notes=NoteStore(client))
    install_problem_handlers(app)
    app.include_router(router)

    @app.middleware("http")
    async def name_the_instance(request: Request,
                                call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["X-Instance"] = settings.instance
        return response

    return app
