"""A webhook receiver that applies every event exactly once, however often it is delivered.

Your task — the body of ``receive`` in :func:`create_receiver` (``POST /webhooks``):

1. verify the raw body with ``signing.verify(secrets, request.headers, body, tolerance_s=…)``;
   a ``VerificationError`` → a 401 problem document, and nothing applied;
2. claim the ``webhook-id`` in Redis — ``SET {namespace}:{id} in-flight NX PX claim_ttl_ms`` —
   so of any number of concurrent copies exactly one goes on;
3. a copy that loses the claim answers 200 ``{"duplicate": true}`` if the id is done, else 409
   with ``Retry-After: 1`` (still in flight: it may yet fail);
4. ``await apply(msg_id, body)``; if it raises, DELETE the claim and re-raise (a 500 the sender
   retries — and the retry can apply it);
5. mark the id done for ``seen_ttl_s`` (longer than the sender's whole retry schedule) and
   answer 200 ``{"duplicate": false}``.

Read weeks/11-design-practice/README.md, section 'Receiving exactly once'.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import redis.asyncio as redis
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from .signing import DEFAULT_TOLERANCE_S

IN_FLIGHT, DONE = "in-flight", "done"
SECTION = "see weeks/11-design-practice/README.md, section 'Receiving exactly once'"


def _problem(status: int, title: str, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type="application/problem+json", headers=headers)


def create_receiver(*, redis_url: str, secrets: Sequence[str],
                    apply: Callable[[str, bytes], Awaitable[None]],
                    tolerance_s: float = DEFAULT_TOLERANCE_S, claim_ttl_ms: int = 30_000,
                    seen_ttl_s: float = 7 * 86_400, namespace: str = "webhook") -> FastAPI:
    """An app with ``POST /webhooks``: verify, dedupe on ``webhook-id``, ``apply(msg_id, body)`` once."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = redis.Redis.from_url(redis_url)
        try:
            yield
        finally:
            await app.state.redis.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/webhooks")
    async def receive(request: Request) -> Response:
        raise NotImplementedError(f"create_receiver's POST /webhooks — {SECTION}")

    return app
