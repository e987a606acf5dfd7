"""The notes API: a small contract that is right, served by any number of identical instances.

``uvicorn labs.week09_scaling.api:create_app --factory`` (settings from the environment).

Your task: write the bodies that raise ``NotImplementedError`` (the schemas, the wiring in
``create_app`` and ``POST /v1/sessions`` are given). What the tests expect:

* every error is a problem document: ``Content-Type: application/problem+json`` and a body with
  ``type``, ``title``, ``status`` (= the HTTP status), ``detail``; validation errors are 422 with
  an ``errors`` list; unknown routes 404; a wrong method 405 with ``Allow``; no session 401 with
  ``WWW-Authenticate: Bearer``; another user's or a missing note 404;
* ``GET /v1/notes?limit=1..100&cursor=…`` answers ``{"items": [...], "next_cursor": str | null}``,
  newest first; ``next_cursor`` is null on the last page; a page continues after the previous one
  even when notes were added meanwhile; a cursor the server did not issue is a 400 problem;
* ``POST /v1/notes`` without ``Idempotency-Key`` is a 400 problem and creates nothing; with one it
  answers 201 with ``Location: /v1/notes/<id>``; a retry with the same key and body replays the
  first response with ``Idempotent-Replayed: true``; the same key with another body is a 422;
* each user (each client address for ``POST /v1/sessions``) gets ``rate_limit`` requests per
  window; over it, a 429 problem with ``Retry-After`` (whole seconds, at least 1);
* ``/readyz`` is 200 while Redis answers, else a 503 problem naming redis, with ``Retry-After``;
* schemathesis, fuzzing the OpenAPI document, finds no 5xx and no 4xx that is not a problem.

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

import base64  # noqa: F401  (the imports you will need are here already)
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError  # noqa: F401
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: F401
from starlette.status import HTTP_201_CREATED

from .idempotency import (  # noqa: F401
    IdempotencyConflict,
    IdempotencyStore,
    RequestInProgress,
    StoredResponse,
)
from .settings import Settings
from .state import RateLimiter, Sessions, retry_after_header  # noqa: F401
from .store import NoteStore

ERRORS_SECTION = "see weeks/09-scaling/README.md, section 'Errors are problem documents'"
CURSOR_SECTION = "see weeks/09-scaling/README.md, section 'Cursor pagination'"
STATE_SECTION = "see weeks/09-scaling/README.md, section 'State lives in Redis'"
IDEMPOTENCY_SECTION = "see weeks/09-scaling/README.md, section 'Idempotency-Key on POST'"
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
    """``problem`` as ``application/problem+json``: type, title, status, detail, instance (the
    request path) and any extensions, with the problem's headers and status code."""
    raise NotImplementedError(f"problem_response — {ERRORS_SECTION}")


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
    """Turn every error FastAPI or Starlette can raise into a problem document.

    Register ``app.exception_handler`` for: :class:`Problem`; ``RequestValidationError`` (422, with
    an ``errors`` list saying what was wrong where); Starlette's ``HTTPException`` (unknown route
    404, wrong method 405 — keep its headers, e.g. ``Allow``); and ``Exception`` (500, no details).
    """

    raise NotImplementedError(f"install_problem_handlers — {ERRORS_SECTION}")


# --------------------------------------------------------------------------- cursors


def encode_cursor(last_id: int) -> str:
    """An opaque cursor: the position after note ``last_id``, not a page number or an offset.

    ``NoteStore.page(author, before_id=…, limit=…)`` takes that position back."""
    raise NotImplementedError(f"encode_cursor — {CURSOR_SECTION}")


def decode_cursor(cursor: str) -> int:
    """The note id a cursor points before; ``ValueError`` for anything we did not issue."""
    raise NotImplementedError(f"decode_cursor — {CURSOR_SECTION}")


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
    raise NotImplementedError(f"limit — {STATE_SECTION}")


def current_user(deps: Deps, response: Response,
                 authorization: Annotated[str | None, Header()] = None) -> str:
    """The session's user (any instance can tell: sessions live in Redis), rate-limited."""
    raise NotImplementedError(f"current_user — {STATE_SECTION}")


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
    raise NotImplementedError(f"list_notes — {CURSOR_SECTION}")


@router.post("/v1/notes", status_code=HTTP_201_CREATED, response_model=NoteOut, responses=ERRORS)
def create_note(user: User, body: NoteIn, response: Response, deps: Deps,
                idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> Any:
    """Create a note once per ``Idempotency-Key``: a retry replays, another body is a 422."""
    raise NotImplementedError(f"create_note — {IDEMPOTENCY_SECTION}")


@router.get("/v1/notes/{note_id}", response_model=NoteOut, responses=ERRORS)
def get_note(user: User, note_id: int, deps: Deps) -> Any:
    """One of the user's notes; another user's note is as missing as one that never existed (404)."""
    raise NotImplementedError(f"get_note — {ERRORS_SECTION}")


@router.get("/healthz", include_in_schema=False)
def healthz(deps: Deps) -> dict[str, str]:
    """Alive: the process answers. Says nothing about Redis, on purpose."""
    return {"status": "ok", "instance": deps.settings.instance}


@router.get("/readyz", include_in_schema=False)
def readyz(deps: Deps) -> dict[str, str]:
    """Ready: Redis answers. A balancer stops sending traffic while this is 503."""
    raise NotImplementedError(f"readyz — {ERRORS_SECTION}")


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
