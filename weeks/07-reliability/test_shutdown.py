"""Lab: graceful shutdown of a real server process and a real worker process on SIGTERM.

See weeks/07-reliability/README.md, section 'Graceful shutdown'.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from course.processes import ProcessFailed, RunningProcess

LESSON = "weeks/07-reliability/README.md, section 'Graceful shutdown'"
SERVE = [sys.executable, "-m", "labs.week07_reliability.serve", "--port", "{port}"]
Spawn = Callable[..., RunningProcess]


def start(spawn: Spawn, command: list[str], **kwargs: object) -> RunningProcess:
    try:
        return spawn(command, **kwargs)
    except ProcessFailed as exc:
        failure = str(exc)
    pytest.fail(f"`{' '.join(command[1:])}` did not start; look at {LESSON}:\n{failure}", pytrace=False)


def in_flight(process: RunningProcess) -> float:
    try:
        text = httpx.get(f"{process.url}/metrics", timeout=2).text
    except httpx.HTTPError:
        return -1
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "http_requests_in_flight":
                return sample.value
    return -1


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def exit_code(process: RunningProcess, timeout_s: float) -> int | None:
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return None


# --------------------------------------------------------------------------- the server


def test_sigterm_drains_in_flight_requests_and_refuses_new_ones(spawn: Spawn) -> None:
    server = start(spawn, [*SERVE, "--graceful-timeout-s", "3"])
    statuses: dict[str, int | str] = {}

    def request(name: str, seconds: float) -> None:
        try:
            statuses[name] = httpx.get(f"{server.url}/slow?seconds={seconds}", timeout=40).status_code
        except httpx.HTTPError as exc:
            statuses[name] = type(exc).__name__

    clients = {name: threading.Thread(target=request, args=(name, seconds), daemon=True)
               for name, seconds in (("short-1", 1.5), ("short-2", 1.5), ("short-3", 1.5), ("long", 30))}
    for client in clients.values():
        client.start()
    assert wait_for(lambda: in_flight(server) == 4, timeout_s=10), (
        f"expected http_requests_in_flight = 4 on /metrics while 4 slow requests run (this test uses "
        f"the observability lab's gauge to know they arrived); saw {in_flight(server)}")

    sent = time.monotonic()
    server.signal(signal.SIGTERM)
    refused = wait_for(lambda: refuses_connections(server.port or 0), timeout_s=2.5)
    draining = clients["long"].is_alive()
    code = exit_code(server, timeout_s=15)
    exited_after = time.monotonic() - sent
    for client in clients.values():
        client.join(5)

    assert refused and draining, (
        f"expected new connections to be refused soon after SIGTERM, while in-flight requests were "
        f"still being served; refused={refused}, still serving={draining}; look at {LESSON}")
    short = [statuses.get(f"short-{n}") for n in (1, 2, 3)]
    assert short == [200, 200, 200], (
        f"expected the 3 in-flight 1.5 s requests to complete with 200 after SIGTERM; got {short}. "
        f"Output:\n{server.output(12)}\nlook at {LESSON}")
    assert code is not None and exited_after < 12, (
        f"expected --graceful-timeout-s 3 to bound the drain: the 30 s request is cut after ~3 s and the "
        f"process exits; it was still running {exited_after:.0f} s after SIGTERM. Pass the timeout to "
        f"uvicorn (timeout_graceful_shutdown); look at {LESSON}")
    assert code == 0, (
        f"expected the drained server to exit with code 0; got {code} (-15 = killed by the SIGTERM "
        f"uvicorn re-raises after draining). Output:\n{server.output(8)}\nlook at {LESSON}")


# --------------------------------------------------------------------------- the worker


def worker_command(redis_url: str, queue: str) -> list[str]:
    return [sys.executable, "-m", "labs.week07_reliability.worker",
            "--redis-url", redis_url, "--queue", queue]


def test_worker_finishes_its_current_job_on_sigterm(spawn: Spawn, redis_url: str, redis_client) -> None:
    queue = "jobs"
    # LPUSH + the worker's RIGHT pop = FIFO: "long" is taken first. It lasts 2 s so that SIGTERM
    # lands while it runs even when a busy machine delays this test's polling by a second.
    for job_id, seconds in (("long", 2.0), ("next-1", 0.1), ("next-2", 0.1)):
        redis_client.lpush(queue, json.dumps({"id": job_id, "seconds": seconds}))
    worker = start(spawn, worker_command(redis_url, queue), ready_line="worker ready")
    assert wait_for(lambda: redis_client.hget(f"{queue}:status", "long") == "running", timeout_s=10), (
        f"expected the worker to mark job 'long' running in the hash '{queue}:status'; got "
        f"{redis_client.hgetall(f'{queue}:status')}. Output:\n{worker.output(8)}")

    worker.signal(signal.SIGTERM)
    code = exit_code(worker, timeout_s=12)
    status = redis_client.hgetall(f"{queue}:status")
    assert status.get("long") == "done", (
        f"expected the job in hand when SIGTERM arrived to finish and be marked done; its status is "
        f"{status.get('long')!r} (exit code {code}). A worker that exits mid-job leaves the work half "
        f"done; set a flag in the handler and stop between jobs; look at {LESSON}")
    assert code == 0, f"expected exit code 0 after finishing the job; got {code}; look at {LESSON}"
    leftover = redis_client.lrange(f"{queue}:processing", 0, -1)
    waiting = [json.loads(raw)["id"] for raw in redis_client.lrange(queue, 0, -1)]
    assert not leftover and sorted(waiting) == ["next-1", "next-2"] and set(status) == {"long"}, (
        f"expected the finished job removed from '{queue}:processing' (got {leftover}) and the 2 jobs "
        f"not yet started left in '{queue}' for the next worker (got {waiting}, statuses {status}); "
        f"look at {LESSON}")


def test_an_idle_worker_exits_promptly_on_sigterm(spawn: Spawn, redis_url: str) -> None:
    worker = start(spawn, worker_command(redis_url, "idle"), ready_line="worker ready")
    worker.signal(signal.SIGTERM)
    code = exit_code(worker, timeout_s=5)
    assert code == 0, (
        f"expected an idle worker to exit 0 within 5 s of SIGTERM (block on the queue with a short "
        f"timeout so the loop can notice the stop); got {code}. Output:\n{worker.output(6)}; "
        f"look at {LESSON}")
