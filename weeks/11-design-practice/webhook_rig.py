"""The delivery lab's loopback receivers, as one real uvicorn process: ``python webhook_rig.py PORT``.

Environment: ``RIG_REDIS_URL`` (where receivers keep dedupe state and the test reads results)
and ``RIG_SECRET`` (the endpoint secret). Paths, each a receiver the tests point a sender at:

``/scripted/{statuses}``  answers a fixed script per webhook-id, e.g. ``503r7-200`` = first a 503
                          with ``Retry-After: 7``, then 200 (the last status repeats); records
                          every request's headers in Redis list ``requests:{webhook-id}``;
``/plain/webhooks``       your ``create_receiver`` applying with ``HINCRBY applied <id> 1``;
``/slow-apply/webhooks``  the same, applying for 50 ms (so concurrent copies overlap);
``/fail-first/webhooks``  the same, but the first apply of each id raises;
``/flaky/webhooks``       the same as plain behind faults: each id's first attempt gets a 500
                          before your code runs, its second is applied and then answered 3 s
                          late (after the sender gave up), later ones pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import redis.asyncio as redis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from labs.week11_design_practice.receiver import create_receiver

REDIS_URL = os.environ["RIG_REDIS_URL"]
SECRET = os.environ["RIG_SECRET"]
SLOW_ANSWER_S = 3.0  # well past the sender's 1 s timeout, however busy the machine
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


async def apply(msg_id: str, body: bytes) -> None:
    await store.hincrby("applied", msg_id, 1)


async def slow_apply(msg_id: str, body: bytes) -> None:
    await asyncio.sleep(0.05)
    await store.hincrby("applied", msg_id, 1)


first_applies: set[str] = set()


async def fail_first_apply(msg_id: str, body: bytes) -> None:
    if msg_id not in first_applies:
        first_applies.add(msg_id)
        raise RuntimeError(f"the rig fails the first apply of {msg_id}")
    await store.hincrby("applied", msg_id, 1)


scripted_seen: Counter[tuple[str, str]] = Counter()


async def scripted(request: Request) -> Response:
    spec = request.path_params["statuses"].split("-")
    msg_id = request.headers.get("webhook-id", "")
    scripted_seen[(request.url.path, msg_id)] += 1
    step = spec[min(scripted_seen[(request.url.path, msg_id)], len(spec)) - 1]
    await store.rpush(f"requests:{msg_id}", json.dumps({"headers": dict(request.headers),
                                                        "body": (await request.body()).decode()}))
    status, _, retry_after = step.partition("r")
    return Response(status_code=int(status), headers={"Retry-After": retry_after} if retry_after else None)


def faulty(app: ASGI) -> ASGI:
    attempts: Counter[str] = Counter()

    async def wrapped(scope: Scope, receive: Callable[[], Awaitable[Any]],
                      send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        msg_id = headers.get("webhook-id", "")
        attempts[msg_id] += 1
        if attempts[msg_id] == 1:
            await Response(status_code=500)(scope, receive, send)
            return
        if attempts[msg_id] == 2:
            async def late_send(message: Any) -> None:
                if message["type"] == "http.response.start":
                    await asyncio.sleep(SLOW_ANSWER_S)
                await send(message)
            await app(scope, receive, late_send)
            return
        await app(scope, receive, send)

    return wrapped


receivers = {name: create_receiver(redis_url=REDIS_URL, secrets=[SECRET], apply=fn)
             for name, fn in {"plain": apply, "slow-apply": slow_apply, "fail-first": fail_first_apply,
                              "flaky": apply}.items()}


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for receiver in receivers.values():
            await stack.enter_async_context(receiver.router.lifespan_context(receiver))
        yield


routes = [Route("/scripted/{statuses}", scripted, methods=["POST"])]
routes += [Mount(f"/{name}", app=faulty(app) if name == "flaky" else app) for name, app in receivers.items()]
rig = Starlette(routes=routes, lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(rig, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
