"""The tests' webhook receiver: a real HTTP server on a loopback port, in a thread of the test.

Each endpoint the tests register points at ``/<name>`` on it, and each name can be told how to
answer — a status, a delay, a ``Retry-After`` — so one server plays a healthy endpoint, one that
throttles, one that hangs and one that is gone, at once. Every request is recorded as it
*arrives* (before any delay), with its headers and the exact body bytes, because a signature is
checked over the bytes that were sent, and a duplicate is visible only if both copies are kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Behaviour:
    """How ``/<name>`` answers: ``status`` after ``delay_s``, with these extra ``headers``."""

    status: int = 200
    delay_s: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"ok"


@dataclass(frozen=True)
class Received:
    """One request as it arrived: the endpoint name, lower-cased headers, the body bytes, when."""

    name: str
    headers: dict[str, str]
    body: bytes
    at_s: float  # time.time() on arrival


@dataclass
class _State:
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    peak_in_flight: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    """A thread per request, and a listen backlog deep enough for a worker's burst of connections
    (the default of 5 makes the kernel drop SYNs, and a dropped SYN costs a one-second retry)."""

    request_queue_size = 256
    daemon_threads = True
    block_on_close = False  # a handler sleeping for a "hanging" endpoint does not hold up shutdown


class Receiver:
    """``with Receiver() as receiver:`` — ``receiver.url("a")``, ``receiver.behave("a", status=500)``.

    Names are the tests' business: the rig makes each endpoint's name unique, so tests that
    share one receiver never read each other's requests.
    """

    def __init__(self) -> None:
        self._state = _State()
        state = self._state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                name = self.path.strip("/").split("?")[0]
                with state.lock:
                    state.received.append(Received(name, {k.lower(): v for k, v in self.headers.items()},
                                                   body, time.time()))
                    behaviour = state.behaviours.get(name, Behaviour())
                    state.in_flight[name] = state.in_flight.get(name, 0) + 1
                    state.peak_in_flight[name] = max(state.peak_in_flight.get(name, 0),
                                                     state.in_flight[name])
                try:
                    if behaviour.delay_s:
                        time.sleep(behaviour.delay_s)
                    self.send_response(behaviour.status)
                    for header, value in behaviour.headers:
                        self.send_header(header, value)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(behaviour.body)))
                    self.end_headers()
                    self.wfile.write(behaviour.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (its timeout, or it was killed): nothing to answer
                finally:
                    with state.lock:
                        state.in_flight[name] -= 1

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the tests print what they received when an assertion fails."""

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="receiver", daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def behave(self, name: str, *, status: int = 200, delay_s: float = 0.0,
               headers: dict[str, str] | None = None, body: bytes = b"ok") -> None:
        """From now on ``/<name>`` answers this way (``headers``: e.g. ``Retry-After``, ``Location``)."""
        with self._state.lock:
            self._state.behaviours[name] = Behaviour(status, delay_s, tuple((headers or {}).items()), body)

    def received(self, name: str) -> list[Received]:
        with self._state.lock:
            return [r for r in self._state.received if r.name == name]

    def peak_in_flight(self, name: str) -> int:
        """The most requests to ``/<name>`` that were being answered at the same moment."""
        with self._state.lock:
            return self._state.peak_in_flight.get(name, 0)

    def wait_for(self, name: str, count: int, timeout_s: float) -> list[Received]:
        """The requests to ``/<name>`` once there are ``count`` of them, or as many as came in time."""
        wait_until(lambda: len(self.received(name)) >= count, timeout_s)
        return self.received(name)


def wait_until(condition: Callable[[], object], timeout_s: float, every_s: float = 0.05) -> bool:
    """Poll ``condition`` until it is truthy (True) or ``timeout_s`` passed (False)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every_s)
    return True
