"""Lab fastapi/worker — durable background work on a Redis queue, run by a real worker process.

The workers are real processes (``python -m labs.week02_fastapi.worker``), and so is the API in
the crash test: uvicorn, configured only by environment variables, the way week 06's container
starts it. The crash is SIGKILL — no shutdown hooks, no goodbyes — which is what an OOM kill or
a lost node looks like.
"""

from __future__ import annotations

import sys
import time
import warnings

import httpx
import psycopg
import pytest
import redis
from rq import Queue
from rq.suspension import resume, suspend

from course.processes import RunningProcess

LESSON = "weeks/02-fastapi/README.md, section 'Background work'"
DELAY_S = 1.5  # how long the simulated provider takes; the work is "mid-flight" this long
SECRET = "week02-worker-test-secret-" + "w" * 32


@pytest.fixture
def service_env(schema_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": schema_url, "REDIS_URL": redis_url, "JWT_SECRET": SECRET,
            "DELIVERY_DELAY_S": str(DELAY_S), "QUEUE_NAME": "deliveries"}


def start_api(spawn, env: dict[str, str]) -> RunningProcess:
    return spawn([sys.executable, "-m", "uvicorn", "labs.week02_fastapi.main:app",
                  "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"], env=env)


def start_worker(spawn, env: dict[str, str]) -> RunningProcess:
    return spawn([sys.executable, "-m", "labs.week02_fastapi.worker"], env=env)


def server_output(process: RunningProcess) -> str:
    """The process's last lines, after a moment: a server logs a 500's traceback after sending it."""
    time.sleep(0.5)
    return process.output(25)


def bearer_for_new_user(api: RunningProcess) -> dict[str, str]:
    email = f"worker-{time.monotonic_ns()}@example.com"
    with httpx.Client(base_url=api.url, timeout=30) as http:
        created = http.post("/users", json={"email": email, "password": "queue-me-please"})
        assert created.status_code == 201, (
            f"POST /users on the real server failed ({created.status_code}); the auth lab comes "
            f"first. Server output:\n{server_output(api)}")
        token = http.post("/token", data={"username": email, "password": "queue-me-please"})
        assert token.status_code == 200, (
            f"POST /token on the real server failed ({token.status_code}). "
            f"Server output:\n{server_output(api)}")
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def post_delivery(api: RunningProcess, headers: dict[str, str], via: str) -> str:
    response = httpx.post(f"{api.url}/deliveries", json={"message": f"hello via {via}", "via": via},
                          headers=headers, timeout=30)
    assert response.status_code == 202, (
        f"expected POST /deliveries (via={via}) to answer 202 Accepted; got {response.status_code} "
        f"{response.text}; look at create_delivery() in routes.py")
    return response.json()["id"]


def delivered(database_url: str, delivery_id: str) -> str | None:
    """The ``via`` of the delivery row, or None if the work has not (yet) happened."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT via FROM deliveries WHERE id = %s", (delivery_id,)).fetchone()
    return row[0] if row else None


def wait_for(database_url: str, delivery_id: str, timeout_s: float) -> str | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (via := delivered(database_url, delivery_id)) is not None:
            return via
        time.sleep(0.1)
    return None


@pytest.fixture
def settings(make_settings, redis_url: str):
    """The in-process app's settings: same database, Redis and delay as the worker's environment."""
    return make_settings(redis_url=redis_url, delivery_delay_s=DELAY_S, queue_name="deliveries")


def test_queued_delivery_is_run_by_a_worker_process(spawn, service_env, client, schema_url) -> None:
    """The API runs in-process here (TestClient); the worker is a real process on the same Redis."""
    worker = start_worker(spawn, service_env)  # starts while we register: no need to wait for it
    email = f"worker-{time.monotonic_ns()}@example.com"
    client.post("/users", json={"email": email, "password": "queue-me-please"})
    token = client.post("/token", data={"username": email, "password": "queue-me-please"})
    assert token.status_code == 200, f"the auth lab comes first: POST /token gave {token.status_code}"
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    queued = client.post("/deliveries", json={"message": "hello via queue", "via": "queue"}, headers=headers)
    assert queued.status_code == 202, (
        f"expected POST /deliveries (via=queue) to answer 202 Accepted; got {queued.status_code} "
        f"{queued.text}; look at create_delivery() in routes.py")
    queued_id = queued.json()["id"]
    # The provider takes 1.5 s, so if the row already exists the 202 waited for the work.
    assert delivered(schema_url, queued_id) is None, (
        "the queued delivery was already done when 202 came back: the endpoint did the slow work "
        f"inline instead of enqueueing it; {LESSON}")

    # TestClient returns only after BackgroundTasks ran (a real server answers first, then runs them).
    background = client.post("/deliveries", json={"message": "hello in-process", "via": "background"},
                             headers=headers)
    assert background.status_code == 202, f"via=background: expected 202; got {background.status_code}"
    got_background = delivered(schema_url, background.json()["id"])
    assert got_background == "background", (
        f"the BackgroundTasks delivery did not happen (got {got_background!r}); "
        "background.add_task(tasks.deliver, ..., \"background\", settings)")

    got_queued = wait_for(schema_url, queued_id, timeout_s=20)
    assert got_queued == "queue", (
        f"the queued delivery was not run by the worker within 20 s (got {got_queued!r}). "
        f"Worker output:\n{worker.output(20)}")


def test_queued_work_survives_an_api_crash_background_work_does_not(spawn, service_env, redis_url,
                                                                    schema_url) -> None:
    queues = redis.Redis.from_url(redis_url)
    # The worker boots alongside the API but takes nothing until we resume it (`rq suspend`):
    # whatever it runs later must have waited in Redis through the crash.
    suspend(queues)
    worker = start_worker(spawn, service_env)
    api = start_api(spawn, service_env)
    headers = bearer_for_new_user(api)
    queued_id = post_delivery(api, headers, "queue")
    # The background delivery goes last, and the kill follows its 202 at once: its DELAY_S of
    # simulated provider time has only just begun, however slowly a busy machine ran the rest.
    background_id = post_delivery(api, headers, "background")
    api.popen.kill()  # SIGKILL mid-delivery: both pieces of work are still in flight
    crashed_at = time.monotonic()
    api.wait(timeout=10)

    waiting = Queue(service_env["QUEUE_NAME"], connection=queues).count
    assert waiting == 1, (
        f"the API answered 202 and died; {waiting} job(s) are waiting in the Redis queue "
        f"{service_env['QUEUE_NAME']!r}, expected 1. A job must be in Redis before the response goes "
        f"out (tasks.enqueue_delivery), not in the API process's memory. {LESSON}")
    resume(queues)
    got_queued = wait_for(schema_url, queued_id, timeout_s=20)
    assert got_queued == "queue", (
        "the queued delivery survived the crash in Redis, but no worker ran it within 20 s. "
        f"Worker output:\n{worker.output(20)}")

    time.sleep(max(0.0, crashed_at + DELAY_S + 1.0 - time.monotonic()))
    assert delivered(schema_url, background_id) is None, (
        "a BackgroundTasks delivery completed although its process was killed mid-task — "
        "was it really run with BackgroundTasks in the API process?")
    queues.close()


# --------------------------------------------------------------------------- liveness and readiness

HEALTH = "weeks/02-fastapi/README.md, section 'Alive and ready'"


def test_healthz_and_readyz_answer_when_the_dependencies_do(client) -> None:
    alive = client.get("/healthz")
    assert alive.status_code == 200, f"expected GET /healthz to be 200; got {alive.status_code}. See {HEALTH}"
    ready = client.get("/readyz")
    assert ready.status_code == 200, (
        f"expected GET /readyz to be 200 while PostgreSQL and Redis answer; got {ready.status_code} "
        f"{ready.text[:300]}. See {HEALTH}")


@pytest.mark.parametrize("dependency", ["database", "redis"])
def test_readyz_is_503_naming_the_failing_dependency(app, make_settings, redis_url: str,
                                                     free_tcp_port: int, dependency: str) -> None:
    from labs.week02_fastapi.settings import get_settings

    closed = f"127.0.0.1:{free_tcp_port}"  # nothing listens here: connections are refused at once
    broken = ({"database_url": f"postgresql://postgres@{closed}/app", "redis_url": redis_url}
              if dependency == "database" else {"redis_url": f"redis://{closed}/0"})
    app.dependency_overrides[get_settings] = lambda: make_settings(**broken)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

        client = TestClient(app)
        ready, alive = client.get("/readyz"), client.get("/healthz")
    body = ready.json() if ready.headers.get("content-type", "").startswith("application/json") else {}
    assert ready.status_code == 503 and body.get("failing") == [dependency], (
        f"expected GET /readyz to be 503 with failing == [{dependency!r}] while {dependency} is down; "
        f"got {ready.status_code} {ready.text[:300]}. See {HEALTH}")
    retry_after = ready.headers.get("retry-after", "")
    assert retry_after.isdigit() and int(retry_after) >= 1, (
        f"expected every 503 to carry Retry-After in whole seconds; got {retry_after!r}. See {HEALTH}")
    assert alive.status_code == 200, (
        f"expected GET /healthz to stay 200 while {dependency} is down — restarting the process "
        f"cannot fix its database; got {alive.status_code}. See {HEALTH}")
