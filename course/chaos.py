"""A fault-injecting TCP proxy for failure drills — our own small Toxiproxy.

Put a :class:`ChaosProxy` between a client and a real upstream (PostgreSQL, Redis, any TCP
server on loopback), point the client at ``proxy.port``, and break the link on purpose::

    with ChaosProxy.for_url(redis_url) as proxy:
        client = redis.Redis.from_url(proxy.url(redis_url), socket_timeout=0.2)
        proxy.cut()        # refuse new connections, drop existing ones: "Redis is down"
        proxy.heal()       # back to a clean pass-through

Faults, each observable from the client side:

``cut()``        the listener closes (new connects get *connection refused*) and every open
                 connection is closed — what a crashed or stopped server looks like.
``reset()``      every open connection is aborted with a TCP RST (``SO_LINGER 0``) — a one-shot
                 event, like a firewall or a restarted load balancer; new connections still work.
``delay(s)``     every chunk waits ``s`` seconds before it is forwarded, in both directions, so a
                 request/response round trip costs at least ``2 * s`` extra.
``blackhole()``  connections are accepted but nothing is forwarded either way; bytes are held,
                 not lost (TCP would retransmit), and flow again after ``heal()``.
``heal()``       clears every fault.

The proxy runs its own asyncio loop in a background thread, so synchronous test code and
notebooks can use it without an event loop of their own; every method blocks until the fault
is in force. Closing the proxy stops the thread and closes every socket it opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from course.credentials import SecretUrl
from course.errors import CourseError

CHUNK = 64 * 1024
REBIND_PATIENCE_S = 2.0


class ChaosError(CourseError, RuntimeError):
    """The proxy could not do what was asked (e.g. its port was taken while it was cut)."""


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client side, the upstream side and the two pumps between."""

    client: asyncio.StreamWriter
    task: asyncio.Task[Any] | None
    upstream: asyncio.StreamWriter | None = None
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    def writers(self) -> list[asyncio.StreamWriter]:
        return [w for w in (self.client, self.upstream) if w is not None]


class ChaosProxy:
    """A TCP proxy on ``host:port`` (port 0 = pick a free one) in front of ``upstream``."""

    def __init__(self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._delay_s = 0.0
        self._flowing: asyncio.Event | None = None  # cleared while blackholed
        self._cut = False
        self._held = 0

    @classmethod
    def for_url(cls, url: str, **kwargs: Any) -> ChaosProxy:
        """A proxy in front of the host and port named in ``url`` (``redis://…``, ``postgresql://…``)."""
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ChaosError(f"{url!r} names no host:port to proxy (a unix-socket URL cannot be proxied)")
        return cls(parts.hostname, parts.port, **kwargs)

    # ----------------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Start the loop thread and the listener; returns ``self`` for chaining."""
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="chaos-proxy", daemon=True)
        self._thread.start()
        self._call(self._init())
        return self

    def close(self) -> None:
        """Close every connection and the listener, stop the loop and join its thread."""
        if self._loop is None or self._thread is None:
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
        self._loop, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The port clients connect to; stable across ``cut()`` and ``heal()``."""
        if self._port is None:
            raise ChaosError("the proxy is not started: use `with ChaosProxy(...) as proxy:`")
        return self._port

    def url(self, url: str) -> SecretUrl:
        """``url`` with its host and port replaced by this proxy's (user, password, path and query kept).

        A :class:`SecretUrl`, so a failing test or a notebook that shows it masks the password.
        """
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{self.host}:{self.port}" if userinfo else f"{self.host}:{self.port}"
        return SecretUrl(urlunsplit(parts._replace(netloc=netloc)))

    @property
    def connections(self) -> int:
        """How many client connections are open through the proxy right now."""
        return len(self._links)

    @property
    def held(self) -> int:
        """How many chunks a blackhole holds right now: requests sent that will get no answer.

        A test waits for ``held > 0`` to know its client is *inside* a call to the upstream (an
        ``XADD`` on the wire, say) rather than guessing with a sleep.
        """
        return self._held

    @property
    def state(self) -> str:
        """``"cut"``, ``"blackhole"``, ``"delay 0.2s"`` or ``"healthy"`` — for logs and notebooks."""
        if self._cut:
            return "cut"
        if self._flowing is not None and not self._flowing.is_set():
            return "blackhole"
        return f"delay {self._delay_s:g}s" if self._delay_s else "healthy"

    # ----------------------------------------------------------------------- faults

    def cut(self) -> None:
        """Refuse new connections (listener closed) and close every open one."""
        self._call(self._cut_now())

    def reset(self) -> None:
        """Abort every open connection with a TCP RST; new connections are still accepted."""
        self._call(self._drop_all(rst=True))

    def delay(self, seconds: float) -> None:
        """Hold each chunk ``seconds`` before forwarding it, both directions (0 = no delay)."""
        if seconds < 0:
            raise ValueError("delay must be >= 0 seconds")
        self._delay_s = seconds

    def blackhole(self) -> None:
        """Accept connections but forward nothing in either direction until ``heal()``."""
        self._call(self._set_flowing(False))

    def heal(self) -> None:
        """Clear every fault: listen again if cut, no delay, bytes flow."""
        self._delay_s = 0.0
        self._call(self._heal())

    # ----------------------------------------------------------------------- loop-side internals

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        if self._loop is None:
            coro.close()
            raise ChaosError("the proxy is not started: use `with ChaosProxy(...) as proxy:`")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _init(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen(self._requested_port)

    async def _listen(self, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, port, reuse_address=True)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _cut_now(self) -> None:
        self._cut = True
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._drop_all(rst=False)

    async def _heal(self) -> None:
        await self._set_flowing(True)
        if self._cut:
            # Rebind the same port so clients' URLs stay valid. A stranger could have taken it
            # while we were cut (very unlikely on loopback), so retry briefly, then say so.
            deadline = time.monotonic() + REBIND_PATIENCE_S
            while True:
                try:
                    await self._listen(self.port)
                    break
                except OSError as exc:
                    if time.monotonic() > deadline:
                        raise ChaosError(f"cannot listen on {self.host}:{self.port} again: {exc}") from exc
                    await asyncio.sleep(0.05)
            self._cut = False

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _shutdown(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # Links first: since Python 3.12 wait_closed() also waits for every open connection.
        await self._drop_all(rst=False)
        if server is not None:
            await server.wait_closed()

    async def _drop_all(self, *, rst: bool) -> None:
        links = list(self._links)
        for link in links:
            for writer in link.writers():
                if rst:
                    sock = writer.get_extra_info("socket")
                    if sock is not None:
                        # Linger on, timeout 0: close() discards unsent data and sends RST, not FIN.
                        with contextlib.suppress(OSError):
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                else:
                    writer.close()
            if link.task is not None:
                link.task.cancel()
        await asyncio.gather(*(link.task for link in links if link.task), return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        link = _Link(client_writer, asyncio.current_task())
        self._links.add(link)
        try:
            assert self._flowing is not None
            await self._flowing.wait()  # a blackholed proxy does not even reach the upstream
            try:
                upstream_reader, link.upstream = await asyncio.open_connection(*self.upstream)
            except OSError:
                return  # upstream really down: the client sees its connection closed
            link.pumps = [asyncio.create_task(self._pump(client_reader, link.upstream)),
                          asyncio.create_task(self._pump(upstream_reader, client_writer))]
            # Either direction ending (EOF, error, cancel) ends the whole link.
            await asyncio.wait(link.pumps, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            pass
        finally:
            for pump in link.pumps:
                pump.cancel()
            await asyncio.gather(*link.pumps, return_exceptions=True)
            for writer in link.writers():
                writer.close()
            self._links.discard(link)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(CHUNK):
                if self._delay_s:
                    await asyncio.sleep(self._delay_s)
                if not self._flowing.is_set():  # a blackhole set during the delay still holds
                    self._held += 1
                    try:
                        await self._flowing.wait()
                    finally:
                        self._held -= 1
                writer.write(chunk)
                await writer.drain()
