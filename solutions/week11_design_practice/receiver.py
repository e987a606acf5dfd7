"""A webhook receiver that applies every event exactly once, however often it is delivered.

Senders retry, so receivers see duplicates: a response lost on the way back, a timeout shorter
than the receiver's work, a retry that overtakes a slow first attempt. The ``webhook-id`` is the
same on every attempt, so the receiver claims it in Redis before applying (``SET NX`` with a
lease — of any number of concurrent copies exactly one wins), marks it done afterwards, and
releases the claim if applying fails, so the sender's next retry can apply it. A copy that finds
the claim still in flight answers 409 with ``Retry-After``: "not yet" — never "done" for work
that may still fail.

The done marker must outlive the sender's whole retry schedule (days), not the signature
tolerance (minutes): a retry with a fresh timestamp is a new, valid request for an old event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import redis.asyncio as redis
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from .signing import DEFAULT_TOLERANCE_S, VerificationError, verify

IN_FLIGHT, DONE = "in-flight", "done"


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
        body = await request.body()  # the raw bytes: what was signed
        try:
            msg_id = verify(secrets, request.headers, body, tolerance_s=tolerance_s)
        except VerificationError as exc:
            return _problem(401, "Invalid webhook signature", str(exc))
        client: redis.Redis = request.app.state.redis
        key = f"{namespace}:{msg_id}"
        if not await client.set(key, IN_FLIGHT, nx=True, px=claim_ttl_ms):
            state = await client.get(key)
            if state == DONE.encode():
                return JSONResponse({"msg_id": msg_id, "duplicate": True})
            return _problem(409, "Already in progress", f"{msg_id} is being applied; retry shortly",
                            **{"Retry-After": "1"})
        try:
            await apply(msg_id, body)
        except Exception:
            await client.delete(key)  # let the sender's next attempt apply it
            raise
        await client.set(key, DONE, px=round(seen_ttl_s * 1000))
        return JSONResponse({"msg_id": msg_id, "duplicate": False})

    return app
