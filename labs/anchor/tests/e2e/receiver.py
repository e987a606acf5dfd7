"""A loopback webhook receiver for the end-to-end tests: a plain asyncio HTTP/1.1 server.

No framework: it must answer thousands of requests a second on a busy 2-core machine, keep
connections alive like a real receiver, and misbehave on request. Each path has a
:class:`Behaviour` — a status (or a script of statuses, one per request), a delay, a
``Retry-After``, a ``Location`` (for hostile redirects), a body — and every request is recorded
with its raw headers and body, so a test can verify signatures with the official libraries.

It runs on its own event loop in a background thread: ``with Receiver() as receiver: …``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

REASONS = {200: "OK", 204: "No Content", 302: "Found", 400: "Bad Request", 410: "Gone",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class Behaviour:
    """How one path answers. ``script`` (statuses, consumed one per request) overrides ``status``."""

    status: int = 200
    script: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    retry_after: str | None = None
    location: str | None = None
    body: bytes = b'{"ok":true}'


@dataclass(frozen=True)
class Received:
    """One request as it arrived: header names lower-cased, the body's raw bytes."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when its headers had been read
    answered: int  # the status it was given


class Receiver:
    """``url(path)`` for an endpoint; ``behave(path, …)`` to change it; ``received(path)`` to look."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._behaviours: dict[str, Behaviour] = defaultdict(Behaviour)
        self._received: dict[str, list[Received]] = defaultdict(list)
        self._in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="receiver", daemon=True)

    # ------------------------------------------------------------------ test side

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def behave(self, path: str, **changes: object) -> None:
        with self._lock:
            self._behaviours[path] = Behaviour(**changes)  # type: ignore[arg-type]

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return list(self._received[path])

    def wait_for(self, path: str, count: int, *, timeout_s: float = 20.0,
                 check: Callable[[list[Received]], bool] | None = None) -> list[Received]:
        """The path's requests once there are ``count`` (and ``check`` holds), or whatever came."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.received(path)
            if len(got) >= count and (check is None or check(got)):
                return got
            time.sleep(0.02)
        return self.received(path)

    def __enter__(self) -> Receiver:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, self.host, 0, backlog=1024), self._loop)
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            connections = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in connections:
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # ------------------------------------------------------------------ server side

    def _answer_for(self, path: str) -> tuple[Behaviour, int]:
        with self._lock:
            behaviour = self._behaviours[path]
            status = behaviour.script.pop(0) if behaviour.script else behaviour.status
            return behaviour, status

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                at = time.time()
                lines = head.decode("latin-1").split("\r\n")
                _, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                path = target.split("?", 1)[0]
                behaviour, status = self._answer_for(path)
                with self._lock:
                    self._in_flight[path] += 1
                    self.max_in_flight[path] = max(self.max_in_flight[path], self._in_flight[path])
                try:
                    if behaviour.delay_s:
                        await asyncio.sleep(behaviour.delay_s)
                finally:
                    with self._lock:
                        self._in_flight[path] -= 1
                        self._received[path].append(Received(path, headers, body, at, status))
                extra = ""
                if behaviour.retry_after is not None:
                    extra += f"Retry-After: {behaviour.retry_after}\r\n"
                if behaviour.location is not None:
                    extra += f"Location: {behaviour.location}\r\n"
                writer.write(
                    f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(behaviour.body)}\r\n{extra}\r\n".encode() + behaviour.body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()
