"""The fault-injecting proxy, on its own: against a real echo server and against the real Redis.

Each fault must be observable from the client's side of a real socket, ``heal()`` must restore
service on the same port, and a closed proxy must leave no thread or socket behind.
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from course.chaos import ChaosError, ChaosProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        # The proxy's faults reach this side as a reset or a broken pipe: for an echo server that
        # is just the peer leaving, not an error worth a traceback in the suite's output.
        with contextlib.suppress(ConnectionError):
            while data := self.request.recv(65536):
                self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo_port: int) -> Iterator[ChaosProxy]:
    with ChaosProxy("127.0.0.1", echo_port) as chaos:
        yield chaos


def _connect(proxy: ChaosProxy, timeout: float = 2.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)


def _echo(sock: socket.socket, payload: bytes = b"ping") -> bytes:
    sock.sendall(payload)
    received = b""
    while len(received) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def _wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_passes_bytes_through_both_ways(proxy: ChaosProxy) -> None:
    with _connect(proxy) as sock:
        assert _echo(sock, b"hello" * 10_000) == b"hello" * 10_000
        assert proxy.connections == 1
    assert _wait_until(lambda: proxy.connections == 0), "a closed client should close its link"
    assert proxy.state == "healthy"


def test_cut_refuses_new_connections_and_drops_open_ones(proxy: ChaosProxy) -> None:
    sock = _connect(proxy)
    assert _echo(sock) == b"ping"
    proxy.cut()
    assert proxy.state == "cut"
    try:
        assert sock.recv(16) == b"", "an open connection should see EOF after cut()"
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
    proxy.heal()
    with _connect(proxy) as again:
        assert _echo(again) == b"ping", "heal() should serve again on the same port"


def test_reset_sends_rst_to_open_connections_only(proxy: ChaosProxy) -> None:
    sock = _connect(proxy)
    assert _echo(sock) == b"ping"
    proxy.reset()
    with pytest.raises(ConnectionResetError):
        sock.recv(16)
    sock.close()
    with _connect(proxy) as fresh:
        assert _echo(fresh) == b"ping", "reset() is one-shot: new connections must work"


def test_delay_adds_latency_in_both_directions(proxy: ChaosProxy) -> None:
    with _connect(proxy) as sock:
        _echo(sock)
        proxy.delay(0.15)
        started = time.perf_counter()
        assert _echo(sock) == b"ping"
        elapsed = time.perf_counter() - started
    # A lower bound only: sleeping guarantees it, a busy machine can only make it longer.
    assert elapsed >= 0.3, f"a round trip through delay(0.15) took {elapsed:.3f}s; expected >= 0.3s"
    assert proxy.state == "delay 0.15s"


def test_blackhole_holds_bytes_until_heal(proxy: ChaosProxy) -> None:
    with _connect(proxy, timeout=0.3) as sock:
        assert _echo(sock) == b"ping"
        proxy.blackhole()
        assert proxy.held == 0
        sock.sendall(b"held")
        with pytest.raises(TimeoutError):
            sock.recv(16)
        assert proxy.held == 1, f"expected the blackhole to report the one chunk it holds; held={proxy.held}"
        with _connect(proxy, timeout=0.3) as newcomer:  # accepted, but nothing comes back
            newcomer.sendall(b"x")
            with pytest.raises(TimeoutError):
                newcomer.recv(16)
        proxy.heal()
        sock.settimeout(2.0)
        assert sock.recv(16) == b"held", "bytes held by the blackhole should flow after heal()"


def test_for_url_and_url_rewrite_keep_user_path_and_query() -> None:
    with ChaosProxy.for_url("postgresql://postgres@127.0.0.1:5999/app?sslmode=disable") as chaos:
        assert chaos.upstream == ("127.0.0.1", 5999)
        assert chaos.url("postgresql://postgres@127.0.0.1:5999/app?sslmode=disable") == (
            f"postgresql://postgres@127.0.0.1:{chaos.port}/app?sslmode=disable")
    with pytest.raises(ChaosError):
        ChaosProxy.for_url("postgresql:///app?host=/tmp")


def test_upstream_down_closes_the_client_connection() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        dead_port = placeholder.getsockname()[1]
    with ChaosProxy("127.0.0.1", dead_port) as chaos, _connect(chaos) as sock:
        assert sock.recv(16) == b""


# --------------------------------------------------------------------------- against real Redis


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2,
                                retry=None, decode_responses=True)


def test_redis_through_the_proxy_sees_every_fault(redis_url: str) -> None:
    with ChaosProxy.for_url(redis_url) as chaos:
        client = _client(chaos.url(redis_url))
        assert client.set("k", "v") and client.get("k") == "v"

        chaos.cut()
        with pytest.raises(redis.ConnectionError):
            client.get("k")
        chaos.heal()
        assert client.get("k") == "v", "redis-py reconnects on the next call after heal()"

        chaos.delay(0.3)
        with pytest.raises(redis.TimeoutError):
            client.get("k")
        chaos.heal()
        assert client.get("k") == "v"

        chaos.blackhole()
        with pytest.raises(redis.TimeoutError):
            client.get("k")
        chaos.heal()
        assert client.get("k") == "v"

        assert chaos.connections == 1
        chaos.reset()
        assert chaos.connections == 0, "reset() should abort every open connection"
        # redis-py notices the dead pooled connection at checkout and quietly dials a new one.
        assert client.get("k") == "v"
        client.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts sockets through /proc")
def test_closing_leaves_no_threads_or_sockets(echo_port: int) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    threads_before, fds_before = threading.active_count(), open_fds()
    for fault in ("cut", "reset", "blackhole", "none"):
        with ChaosProxy("127.0.0.1", echo_port) as chaos:
            clients = [_connect(chaos) for _ in range(3)]
            for sock in clients:
                _echo(sock)
            if fault != "none":
                getattr(chaos, fault)()
        for sock in clients:
            sock.close()
    assert _wait_until(lambda: threading.active_count() == threads_before), (
        f"threads: {threading.active_count()} alive after close, {threads_before} before")
    assert _wait_until(lambda: open_fds() <= fds_before), (
        f"file descriptors: {open_fds()} open after close, {fds_before} before")
