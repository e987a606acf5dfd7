"""Drills end to end on loopback: a fault under load, the report's numbers, and real processes.

The service is a tiny HTTP store (POST /items acknowledges an id; the test can ask what it really
kept), behind a real :class:`~course.chaos.ChaosProxy`, or a real process killed with SIGKILL.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from course import drills
from course.chaos import ChaosProxy
from course.load import Load, Outcome
from course.processes import ProcessFailed, start_in_background, start_process, stop_all


class Store(ThreadingHTTPServer):
    """Keeps every POSTed id; ``lose``/``twice`` make it acknowledge without storing, or store twice."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StoreHandler)
        self.kept: list[str] = []
        self.lock = threading.Lock()
        self.lose = False
        self.twice = False

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients cut off by the proxy are part of the drill, not an error to print."""


class _StoreHandler(BaseHTTPRequestHandler):
    server: Store

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        item_id = json.loads(self.rfile.read(length))["id"]
        with self.server.lock:
            if not self.server.lose:
                self.server.kept.extend([item_id] * (2 if self.server.twice else 1))
        body = json.dumps({"id": item_id}).encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def store() -> Iterator[Store]:
    server = Store()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(store: Store) -> Iterator[ChaosProxy]:
    with ChaosProxy("127.0.0.1", store.server_address[1]) as chaos:
        yield chaos


def _writes(proxy: ChaosProxy) -> Load:
    return Load(f"http://127.0.0.1:{proxy.port}", lambda c, n: ("POST", "/items", {"id": str(uuid.uuid4())}),
                clients=3, max_duration_s=10, timeout_s=1.0)


def _acked(outcome: Outcome) -> str | None:
    return outcome.body["id"] if outcome.status == 201 else None


def _stored(store: Store) -> drills.Callable[[list[str]], list[str]]:
    def stored(ids: list[str]) -> list[str]:
        wanted = set(ids)
        with store.lock:
            return [key for key in store.kept if key in wanted]
    return stored


def test_a_cut_is_seen_reported_and_recovered_from(store: Store, proxy: ChaosProxy) -> None:
    report = drills.run_drill(_writes(proxy), drills.cut(proxy), before_s=0.2, fault_s=0.4,
                              acknowledged=_acked, stored=_stored(store))
    assert report.fault == "cut"
    # A request in flight at the moment of the cut may fail, one sent before it may still answer.
    assert report.before.statuses()[201] >= 1, report.summary()
    refused = report.during.statuses()[None]  # no answer; a few sent as the cut began may get through
    assert refused >= 3 and refused >= len(report.during) // 2, report.summary()
    assert report.recovered and 0 <= report.time_to_recover_s < 2.0, report.summary()  # type: ignore[operator]
    assert 201 in report.after.statuses(), report.summary()
    assert report.acknowledged and not report.lost and not report.duplicates, report.summary()
    assert report.p99_s == report.during.p99_s and report.p50_s <= report.p99_s
    assert len(report.all) == len(report.before) + len(report.during) + len(report.after)
    assert report.injected_at < report.healed_at
    assert "recovered" in report.summary() and "0 lost" in report.summary()


def test_lost_and_duplicated_writes_are_found(store: Store, proxy: ChaosProxy) -> None:
    store.lose = True
    lying = drills.run_drill(_writes(proxy), drills.cut(proxy), before_s=0.1, fault_s=0.2, after_s=0,
                             acknowledged=_acked, stored=_stored(store))
    assert lying.lost and set(lying.lost) == set(lying.acknowledged), lying.summary()
    store.lose, store.twice = False, True
    twice = drills.run_drill(_writes(proxy), drills.cut(proxy), before_s=0.1, fault_s=0.2, after_s=0,
                             acknowledged=_acked, stored=_stored(store))
    assert not twice.lost and set(twice.duplicates) == set(twice.acknowledged), twice.summary()


def test_a_service_that_never_recovers_is_reported_within_the_bound(store: Store, proxy: ChaosProxy) -> None:
    never = drills.Fault("cut forever", proxy.cut, lambda: None)
    started = time.monotonic()
    report = drills.run_drill(_writes(proxy), never, before_s=0.1, fault_s=0.2, recover_within_s=0.5,
                              after_s=0)
    assert not report.recovered and "did not recover" in report.summary()
    assert time.monotonic() - started < 0.1 + 0.2 + 0.5 + 3.0  # the load's timeout_s, plus slack


def test_slow_and_blackhole_faults_cost_time_not_answers(store: Store, proxy: ChaosProxy) -> None:
    fault = drills.slow(proxy, 0.3)
    assert fault.name == "slow 0.3s"
    report = drills.run_drill(_writes(proxy), fault, before_s=0.2, fault_s=0.7, min_during=3)
    assert report.during.p50_s >= 0.25, report.summary()  # at least one chunk held 0.3 s
    assert report.after.p50_s < report.during.p50_s / 3, report.summary()
    assert proxy.state == "healthy"
    hole = drills.run_drill(_writes(proxy), drills.blackhole(proxy), before_s=0.1, fault_s=0.3, min_during=1)
    # Held, not refused: requests in flight or sent into the black hole wait until heal() or their
    # timeout (which of the two phases holds them depends on how busy the machine is).
    held = hole.before.latencies_s + hole.during.latencies_s
    assert max(held) >= 0.25 and hole.recovered, hole.summary()


def test_drill_arguments_are_checked(proxy: ChaosProxy) -> None:
    with pytest.raises(ValueError):
        drills.run_drill(_writes(proxy), drills.cut(proxy), fault_s=-1)
    with pytest.raises(ValueError):
        drills.run_drill(_writes(proxy), drills.cut(proxy), recover_within_s=0)


SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.fixture
def server_script(tmp_path: Path) -> list[str]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    return [sys.executable, str(script), "{port}"]


def test_kill_is_sigkill_and_heal_restarts(server_script: list[str]) -> None:
    process = start_process(server_script)
    port = process.port
    restarted = []

    def restart() -> None:
        restarted.append(start_process(server_script, port=port))

    try:
        load = Load(process.url, lambda c, n: ("GET", "/", None), clients=2, max_duration_s=10, timeout_s=1.0)
        report = drills.run_drill(load, drills.kill(process, restart), before_s=0.2, fault_s=0.3)
        assert process.popen.returncode == -signal.SIGKILL
        assert restarted and report.recovered, report.summary()
        assert report.during.statuses()[None] >= 1 and report.before.statuses()[200] >= 1
    finally:
        stop_all([process, *restarted])
    assert all(p.popen.poll() is not None for p in restarted)
    assert drills.kill(process).name == "kill -9"


def test_processes_start_in_the_background_and_stop_together(server_script: list[str]) -> None:
    starting = [start_in_background(server_script) for _ in range(2)]
    processes = [s.result() for s in starting]
    assert all(s.started() is p for s, p in zip(starting, processes, strict=True))
    stop_all(processes)
    assert [p.popen.returncode for p in processes] == [-signal.SIGTERM] * 2
    assert processes[0].kill() == -signal.SIGTERM  # already gone: kill() only reaps
    failing = start_in_background([sys.executable, "-c", "raise SystemExit(3)"], port=1, timeout=5)
    assert failing.started() is None
    with pytest.raises(ProcessFailed, match="exited with 3"):
        failing.result()


def test_a_process_that_prints_ready_and_exits_at_once_was_ready() -> None:
    """Readiness is read before the exit: a short job that says `ready` and ends is not a failure."""
    process = start_process([sys.executable, "-c", "print('ready', flush=True)"], ready_line="ready")
    process.popen.wait(timeout=10)
    assert "ready" in process.output()


def test_a_process_that_exits_without_its_ready_line_fails_with_its_output() -> None:
    with pytest.raises(ProcessFailed, match="exited with 3 before it was ready"):
        start_process([sys.executable, "-c", "print('oops'); raise SystemExit(3)"],
                      ready_line="ready")
