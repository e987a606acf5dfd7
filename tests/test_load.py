"""The load generator, against a tiny HTTP server on loopback: counts, latencies and bounds."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from course.load import Load, LoadClient, LoadReport, Outcome, check_loopback, percentile, run_load


class _Handler(BaseHTTPRequestHandler):
    """``/ok``, ``/status/NNN`` (503s carry Retry-After unless ``?bare``), ``/slow?s=…``, ``/who``."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/slow":
            time.sleep(float(query["s"][0]))
            self._send(200, {"slept": True})
        elif url.path.startswith("/status/"):
            status = int(url.path.rsplit("/", 1)[1])
            headers = {} if "bare" in query or status != 503 else {"Retry-After": "1"}
            self._send(status, {"status": status}, headers)
        elif url.path == "/who":
            self._send(200, {"client": self.headers.get("X-Client-Id")})
        elif url.path == "/text":
            body = b"plain"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self._send(200, {"ok": True})

    def _send(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is the report, not an access log."""


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up mid-answer is normal under load, not a traceback."""


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _outcome(seconds: float, status: int | None = 200, started: float = 0.0) -> Outcome:
    return Outcome("GET", "/", started, seconds, status)


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert math.isnan(percentile([], 0.5))
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError):
            percentile(values, bad)


def test_only_loopback_targets_are_accepted() -> None:
    for good in ("http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:80"):
        assert check_loopback(good) == good
    for bad in ("http://example.com", "http://10.0.0.1:80", "http://0.0.0.0:80"):
        with pytest.raises(ValueError, match="loopback"):
            check_loopback(bad)
    with pytest.raises(ValueError):
        Load("http://example.com", lambda c, n: ("GET", "/", None))


def test_load_arguments_are_checked(url: str) -> None:
    make = lambda c, n: ("GET", "/", None)  # noqa: E731
    for kwargs in ({"clients": 0}, {"max_duration_s": 0}, {"max_requests": 0}, {"timeout_s": 0}):
        with pytest.raises(ValueError):
            Load(url, make, **kwargs)  # type: ignore[arg-type]


def test_report_counts_statuses_and_latencies() -> None:
    report = LoadReport((_outcome(0.1), _outcome(0.2, 503), _outcome(0.3, None), _outcome(0.4, 503)))
    assert report.statuses() == {200: 1, 503: 2, None: 1}
    assert report.p50_s == 0.2 and report.p99_s == 0.4
    assert report.outside({200, 503}) == [report.outcomes[2]]
    assert "4 requests: 200×1, 503×2, no answer×1" in report.summary()
    assert LoadReport(()).summary() == "0 requests"
    phase = LoadReport((_outcome(0.1, started=1.0), _outcome(0.1, started=2.0), _outcome(0.1, started=3.0)))
    assert [o.started for o in phase.started_between(2.0, 3.0).outcomes] == [2.0]
    assert len(phase.started_between(2.0)) == 2


def test_client_records_status_headers_body_and_failures(url: str) -> None:
    with LoadClient(url, timeout_s=2) as http:
        ok = http.request("GET", "/ok")
        assert (ok.status, ok.body) == (200, {"ok": True}) and ok.seconds >= 0
        busy = http.request("GET", "/status/503")
        assert busy.status == 503 and busy.headers["retry-after"] == "1"
        text = http.request("GET", "/text")
        assert text.body == "plain"
        assert "GET /ok → 200" in ok.describe()
        bare, limited = http.request("GET", "/status/503?bare=1"), http.request("GET", "/status/429")
        report = LoadReport((busy, bare, limited))
        assert [o.path for o in report.without_retry_after()] == ["/status/503?bare=1", "/status/429"]
    with LoadClient("http://127.0.0.1:9", timeout_s=1) as refused:  # discard port: nothing listens
        failed = refused.request("GET", "/")
    assert failed.status is None and failed.error and "no answer" in failed.describe()


def test_slow_answers_become_no_answer_after_the_timeout(url: str) -> None:
    with LoadClient(url, timeout_s=0.2) as http:
        slow = http.request("GET", "/slow?s=1")
    assert slow.status is None and slow.error == "ReadTimeout" and 0.15 < slow.seconds < 0.9


def test_run_load_is_bounded_by_count(url: str) -> None:
    seen: list[tuple[int, int]] = []

    def make(client: int, n: int) -> tuple[str, str, None]:
        seen.append((client, n))
        return "GET", "/ok", None

    report = run_load(url, make, duration_s=10, clients=3, max_requests=30)
    assert len(report) == 30 and report.statuses() == {200: 30}
    assert {client for client, _ in seen} <= {0, 1, 2}
    assert all(n < 30 for _, n in seen)


def test_run_load_is_bounded_by_time(url: str) -> None:
    started = time.monotonic()
    report = run_load(url, lambda c, n: ("GET", "/slow?s=0.05", None), duration_s=0.4, clients=2,
                      max_requests=10_000)
    took = time.monotonic() - started
    # No request starts after 0.4 s; one in flight may finish (0.05 s plus a busy machine's slack).
    assert took < 0.4 + 2.0, f"a 0.4 s load took {took:.2f}s"
    assert 2 <= len(report) <= 2 * (0.4 / 0.05 + 1)
    assert all(o.started < started + 0.4 + 0.5 for o in report.outcomes)  # a busy machine's slack


def test_each_request_gets_a_fresh_client_id_unless_told(url: str) -> None:
    fresh = run_load(url, lambda c, n: ("GET", "/who", None), duration_s=5, clients=2, max_requests=6)
    ids = [o.body["client"] for o in fresh.outcomes]
    assert len(set(ids)) == 6
    same = run_load(url, lambda c, n: ("GET", "/who", None), duration_s=5, clients=2, max_requests=6,
                    client_id=lambda c, n: f"client-{c}")
    assert {o.body["client"] for o in same.outcomes} <= {"client-0", "client-1"}


def test_load_can_be_stopped_and_watched_while_running(url: str) -> None:
    load = Load(url, lambda c, n: ("GET", "/slow?s=0.02", None), clients=2, max_duration_s=10)
    with load:
        deadline = time.monotonic() + 5
        while len(load.snapshot()) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert load.running
    assert not load.running
    report = load.report()
    assert len(report) >= 4
    with pytest.raises(RuntimeError):
        load.start()
