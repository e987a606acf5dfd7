"""An instance for the load balancer to balance — given complete.

``INSTANCE=a python -m uvicorn labs.week09_scaling.upstream:app --port 9001``

A worker with ``UPSTREAM_CONCURRENCY`` slots (default 1, like one synchronous worker process):
a request waits for a free slot, so a slow request holds up whatever is queued behind it on
*this* instance — which is what makes the choice of instance matter.

* ``GET|POST /work?ms=N`` — occupy a slot for N ms, answer ``{"instance": …, "ms": N}``;
  with ``&die=1`` the process logs the request and exits before answering (an instance that
  crashes mid-request);
* ``GET /healthz`` — 200 at once, outside the slots: the process is alive.

Every ``/work`` request is appended to the file ``UPSTREAM_LOG`` names (when set), so a test can
count how many times a request really executed.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

INSTANCE = os.environ.get("INSTANCE", "upstream")
SLOTS = asyncio.Semaphore(int(os.environ.get("UPSTREAM_CONCURRENCY", "1")))
LOG = os.environ.get("UPSTREAM_LOG")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def answer(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"x-instance", INSTANCE.encode())]})
    await send({"type": "http.response.body", "body": payload})


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass  # the body does not matter; read it so the connection stays clean
    path, method = scope["path"], scope["method"]
    if path == "/healthz":
        await answer(send, 200, {"status": "ok", "instance": INSTANCE})
        return
    if path != "/work":
        await answer(send, 404, {"error": "not found"})
        return
    query = parse_qs(scope["query_string"].decode())
    ms = int(query.get("ms", ["0"])[0])
    if LOG:
        with open(LOG, "a") as log:
            log.write(f"{INSTANCE} {method} {scope['query_string'].decode()}\n")
    if query.get("die") == ["1"]:
        os._exit(1)  # mid-request: the client's connection breaks with no answer
    async with SLOTS:
        await asyncio.sleep(ms / 1000)
    await answer(send, 200, {"instance": INSTANCE, "ms": ms, "method": method})
