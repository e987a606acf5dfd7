"""A loopback webhook receiver for the anchor: counts what arrives and checks every signature.

``course anchor up`` starts one so a learner sees a message delivered within a second of sending
it; ``course anchor load`` and ``course anchor drill`` read its arrivals to measure ingest → first
attempt latency and to count what was lost or received twice. It is a bare ASGI app (no framework:
at a thousand deliveries a second the receiver must not be what is measured), run by uvicorn::

    ANCHOR_RECEIVER_SECRET=whsec_… python -m course.anchor_receiver --port 9000

``POST /<anything>``   a delivery: recorded with its arrival time, answered 200 (or as told)
``GET /received``      ``{count, unique, invalid, items: [{id, at, sentAt, valid}]}``;
                       ``?since=N`` returns only items N… (the list only grows)
``POST /_control``     ``{"hang_s": 30}`` holds every later delivery that long before answering,
                       ``{"status": 503}`` answers with that status; ``{}`` restores 200 at once

Signatures are checked with the ``standardwebhooks`` library — the one a tenant would use — so a
delivery the anchor signed wrong shows up as ``invalid`` rather than as a number nobody reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx

from course.processes import RunningProcess, python_command, start_process

SECRET_ENV = "ANCHOR_RECEIVER_SECRET"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Receiver:
    """The ASGI app: what arrived, in order, and how to answer the next delivery."""

    def __init__(self, secret: str | None) -> None:
        from standardwebhooks import Webhook

        self.webhook = Webhook(secret) if secret else None
        self.items: list[dict[str, Any]] = []
        self.copies: Counter[str] = Counter()
        self.invalid = 0
        self.hang_s = 0.0
        self.status = 200

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # uvicorn runs it with lifespan="off"
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        if method == "GET" and path == "/received":
            since = int(parse_qs(scope["query_string"].decode()).get("since", ["0"])[0])
            await _answer(send, 200, {"count": len(self.items), "unique": len(self.copies),
                                      "invalid": self.invalid, "items": self.items[since:]})
        elif method == "GET" and path == "/healthz":
            await _answer(send, 200, {"status": "ok"})
        elif method == "POST" and path == "/_control":
            control = json.loads(body or b"{}")
            self.hang_s = float(control.get("hang_s", 0))
            self.status = int(control.get("status", 200))
            await _answer(send, 200, {"hang_s": self.hang_s, "status": self.status})
        elif method == "POST":
            self.record(body, {k.decode().lower(): v.decode() for k, v in scope["headers"]})
            if self.hang_s:
                await asyncio.sleep(self.hang_s)
            await _answer(send, self.status, {"received": True})
        else:
            await _answer(send, 404, {"detail": f"no {method} {path} here"})

    def record(self, body: bytes, headers: dict[str, str]) -> None:
        """Keep one arrival: its id, when it came, when its sender says it was sent, its signature."""
        at = time.time()
        valid: bool | None = None
        if self.webhook is not None:
            try:
                self.webhook.verify(body, headers)
                valid = True
            except Exception:  # the library raises its own WebhookVerificationError, or a parse error
                valid = False
                self.invalid += 1
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        sent_at = payload.get("sentAt") if isinstance(payload, dict) else None
        message_id = headers.get("webhook-id", "")
        self.copies[message_id] += 1
        self.items.append({"id": message_id, "at": at, "sentAt": sent_at, "valid": valid,
                           "copy": self.copies[message_id]})


async def _answer(send: Send, status: int, document: dict[str, Any]) -> None:
    body = json.dumps(document).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def start_receiver(secret: str | None, *, port: int | None = None) -> RunningProcess:
    """Run the receiver in its own process on loopback; return once it accepts connections."""
    env = {SECRET_ENV: secret} if secret else {}
    return start_process(python_command("-m", "course.anchor_receiver", "--port", "{port}"),
                         port=port, env=env, timeout=30)


@dataclass(frozen=True)
class ReceiverClient:
    """The harness's side of a running receiver: read its arrivals, tell it how to answer."""

    url: str

    def received(self, since: int = 0) -> dict[str, Any]:
        """``{count, unique, invalid, items}``, the items from number ``since`` on."""
        response = httpx.get(f"{self.url}/received", params={"since": since}, timeout=30)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    def control(self, *, hang_s: float = 0.0, status: int = 200) -> None:
        """Hold each later delivery ``hang_s`` seconds and answer ``status`` (defaults: normal)."""
        httpx.post(f"{self.url}/_control", json={"hang_s": hang_s, "status": status},
                   timeout=10).raise_for_status()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(Receiver(os.environ.get(SECRET_ENV) or None), host="127.0.0.1", port=args.port,
                log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
