"""The drill rig: your service as a real uvicorn process, with a chaos proxy in front of
PostgreSQL and another in front of Redis, and a small load generator to push through faults.

    client threads ──HTTP──▶ uvicorn (your app) ──▶ ChaosProxy ──▶ PostgreSQL
                                               └──▶ ChaosProxy ──▶ Redis
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from course import services
from course.chaos import ChaosProxy
from course.processes import ProcessFailed, RunningProcess, start_process

APP = "labs.week08_failure_drills.app:create_app"
CLIENT_TIMEOUT_S = 6.0  # a load request slower than this counts as a failure, not a wait
SETUP_TIMEOUT_S = 20.0  # setting up (no fault active) only has to finish, however busy the machine

# The budget every drill checks latency against: three Redis calls (limiter, cache get, cache
# put) plus PostgreSQL work that, with no fault on PostgreSQL, takes milliseconds.
REDIS_TIMEOUT_S = 0.25
BREAKER_RESET_S = 0.2
DB_CONNECT_TIMEOUT_S = 2
DB_POOL_TIMEOUT_S = 1.0
SETTINGS = {
    "REDIS_TIMEOUT_S": str(REDIS_TIMEOUT_S),
    "DB_CONNECT_TIMEOUT_S": str(DB_CONNECT_TIMEOUT_S),
    "DB_POOL_TIMEOUT_S": str(DB_POOL_TIMEOUT_S),
    "BREAKER_FAILURES": "3",
    "BREAKER_RESET_S": str(BREAKER_RESET_S),
    "RATE_LIMIT": "5",
    "RATE_WINDOW_S": "60",
    "RATE_LIMIT_FAIL_OPEN": "true",
    "RETRY_AFTER_S": "1",
}


@dataclass(frozen=True)
class Outcome:
    """One request of a load run, as the client saw it."""

    method: str
    path: str
    started: float  # time.monotonic() when sent
    seconds: float
    status: int | None  # None: no answer within CLIENT_TIMEOUT_S, or the connection failed
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error: str = ""

    def describe(self) -> str:
        what = self.status if self.status is not None else f"no answer ({self.error})"
        return f"{self.method} {self.path} → {what} in {self.seconds:.2f}s {str(self.body)[:120]}"


class Drill:
    """A running service plus its two proxies, and the helpers every drill test uses."""

    redis_timeout_s = REDIS_TIMEOUT_S
    db_budget_s = DB_CONNECT_TIMEOUT_S + DB_POOL_TIMEOUT_S
    breaker_reset_s = BREAKER_RESET_S

    @staticmethod
    def percentile(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan

    @staticmethod
    def assert_only_designed_failures(outcomes: list[Outcome], allowed: set[int], where: str) -> None:
        """Every answer is in ``allowed``; a 503 must say when to come back; no request hangs."""
        assert outcomes, "the load generator sent nothing — is the service up?"
        unexpected = [o for o in outcomes if o.status not in allowed]
        assert not unexpected, (
            f"expected only {sorted(allowed)}; got {len(unexpected)} of {len(outcomes)} requests outside "
            "that, e.g.\n  " + "\n  ".join(o.describe() for o in unexpected[:4]) + f"\nlook at {where}")
        bare = [o for o in outcomes if o.status == 503 and not o.headers.get("retry-after", "").isdigit()]
        assert not bare, (
            f"expected every 503 to carry Retry-After: <seconds>; {len(bare)} did not, e.g. "
            f"{bare[0].describe()} headers={bare[0].headers}\nlook at unavailable_response in app.py")

    def __init__(self, process: RunningProcess, postgres: ChaosProxy, redis: ChaosProxy,
                 database_url: str) -> None:
        self.process = process
        self.postgres = postgres
        self.redis = redis
        self.database_url = database_url  # direct, not proxied: the test's own view of the truth
        # One connection per request: after a 500 the server may close a kept-alive connection,
        # and the next request must not inherit that as a mysterious ReadError.
        self.http = httpx.Client(base_url=process.url, timeout=SETUP_TIMEOUT_S,
                                 limits=httpx.Limits(max_keepalive_connections=0))

    def request(self, method: str, path: str, *, client_id: str | None = None,
                json: dict[str, Any] | None = None, http: httpx.Client | None = None) -> Outcome:
        headers = {"X-Client-Id": client_id or f"load-{uuid.uuid4()}"}
        started = time.monotonic()
        try:
            response = (http or self.http).request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(method, path, started, time.monotonic() - started, None,
                           error=type(exc).__name__)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return Outcome(method, path, started, time.monotonic() - started, response.status_code,
                       dict(response.headers), body)

    def create_items(self, count: int) -> list[dict[str, Any]]:
        """Write ``count`` items through the API (with no fault active) and return them."""
        items = []
        for n in range(count):
            outcome = self.request("POST", "/items", json={"name": f"item {n}", "price_cents": 100 + n})
            assert outcome.status == 201, (
                f"setting up: POST /items with nothing broken should answer 201; got {outcome.describe()}\n"
                f"look at create_item in service.py. Server output:\n{self.output()}")
            items.append(outcome.body)
        return items

    def drive(self, make: Callable[[int, int], tuple[str, str, dict[str, Any] | None]], *,
              threads: int = 4, seconds: float = 1.0, max_per_thread: int = 200,
              during: Callable[[float], None] | None = None) -> list[Outcome]:
        """Concurrent load: ``threads`` clients call ``make(thread, n)`` → (method, path, json)
        until ``seconds`` have passed. ``during(elapsed)`` runs between requests on thread 0, for
        faults injected mid-run."""
        outcomes: list[Outcome] = []
        lock = threading.Lock()
        started = time.monotonic()

        def client(index: int) -> None:
            with httpx.Client(base_url=self.process.url, timeout=CLIENT_TIMEOUT_S) as http:
                for n in range(max_per_thread):
                    elapsed = time.monotonic() - started
                    if elapsed >= seconds:
                        return
                    if during is not None and index == 0:
                        during(elapsed)
                    method, path, json = make(index, n)
                    outcome = self.request(method, path, json=json, http=http)
                    with lock:
                        outcomes.append(outcome)

        workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=seconds + CLIENT_TIMEOUT_S + 5)
        return outcomes

    def rows(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` are committed in PostgreSQL — asked directly, around the proxy."""
        with psycopg.connect(self.database_url) as conn:
            found = conn.execute("SELECT id::text FROM items WHERE id = ANY(%s::uuid[])", (ids,)).fetchall()
        return {row[0] for row in found}

    def wait_until_serving(self, timeout: float = 3.0) -> None:
        """After ``heal()``: wait for the breakers' trial calls so the next test starts clean."""
        time.sleep(BREAKER_RESET_S * 1.25)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = self.request("GET", "/ready")
            if ready.status == 200 and isinstance(ready.body, dict) and ready.body.get("status") == "ok":
                return
            time.sleep(0.05)

    def output(self) -> str:
        return self.process.output(last_lines=25)

    def close(self) -> None:
        self.http.close()


def service_command(database_url: str, redis_url: str, postgres: ChaosProxy, redis: ChaosProxy,
                    **overrides: str) -> tuple[list[str], dict[str, str]]:
    """The uvicorn command line and environment for your app behind the two proxies."""
    env = SETTINGS | overrides | {"DATABASE_URL": postgres.url(database_url),
                                  "REDIS_URL": redis.url(redis_url)}
    command = [sys.executable, "-m", "uvicorn", APP, "--factory", "--host", "127.0.0.1", "--port", "{port}",
               "--log-level", "warning", "--no-access-log"]
    return command, env


@pytest.fixture(scope="session")
def drill_database(make_database: Callable[..., str]) -> str:
    """A database with the items table, created directly (the drills are about serving, not migrating)."""
    from labs.week08_failure_drills.db import SCHEMA

    url = make_database("week08_drills")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return url


@pytest.fixture(scope="session")
def drill_redis_url(redis_server_url: str) -> str:
    return services.allocate_redis_db(redis_server_url)


class _Starting:
    """A service process starting on a background thread; ``get()`` waits for it to be ready."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process: RunningProcess | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, args=(command, env), daemon=True)
        self._thread.start()

    def _start(self, command: list[str], env: dict[str, str]) -> None:
        try:
            self.process = start_process(command, env=env, timeout=60)
        except BaseException as exc:
            self.error = exc

    def started(self) -> RunningProcess | None:
        """The process once its start has finished, or ``None`` if it failed to start."""
        self._thread.join()
        return self.process

    def get(self) -> RunningProcess:
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.process is not None
        return self.process


@pytest.fixture(scope="session")
def services_under_drill(drill_database: str, drill_redis_url: str) -> Iterator[Callable[[str], Drill]]:
    """Two instances of your service behind the same two proxies, started once per run:
    ``default`` (limiter fails open) and ``strict`` (``RATE_LIMIT_FAIL_OPEN=false``).

    Starting is mostly importing FastAPI, SQLAlchemy and friends: the first one a test asks for is
    started alone, the other in the background while tests run. (The ``spawn`` fixture stops its
    process after each test; these live for the whole run.)
    """
    with ChaosProxy.for_url(drill_database) as postgres, ChaosProxy.for_url(drill_redis_url) as redis:
        configs = {"default": {}, "strict": {"RATE_LIMIT_FAIL_OPEN": "false"}}
        starting: dict[str, _Starting] = {}

        def begin(name: str) -> _Starting:
            if name not in starting:
                starting[name] = _Starting(*service_command(drill_database, drill_redis_url, postgres, redis,
                                                            **configs[name]))
            return starting[name]

        drills: dict[str, Drill] = {}

        def service(name: str) -> Drill:
            if name not in drills:
                try:
                    process = begin(name).get()
                except ProcessFailed as exc:
                    failure = str(exc)
                else:
                    failure = ""
                if failure:  # outside `except`: one clear message, not two chained tracebacks
                    last = "\n".join(failure.splitlines()[-4:])
                    pytest.fail(f"your service ({APP}) did not start; its last words:\n{last}", pytrace=False)
                drills[name] = Drill(process, postgres, redis, drill_database)
                drills[name].request("GET", "/ready")  # warm up: first connections, lazy imports
                for other in configs:  # start the others now, while tests run: imports overlap I/O
                    begin(other)
            return drills[name]

        try:
            yield service
        finally:
            for drill in drills.values():
                drill.close()
            running = [p for p in (s.started() for s in starting.values()) if p is not None]
            for process in running:  # SIGTERM all first, then wait: shutdowns overlap
                process.signal(signal.SIGTERM)
            for process in running:
                process.stop()


def _healed(drill: Drill) -> Iterator[Drill]:
    yield drill
    drill.postgres.heal()
    drill.redis.heal()
    drill.wait_until_serving()


@pytest.fixture
def drill(services_under_drill: Callable[[str], Drill]) -> Iterator[Drill]:
    """Your service (limiter fails open), healed and recovered again after each test."""
    yield from _healed(services_under_drill("default"))


@pytest.fixture
def strict_drill(services_under_drill: Callable[[str], Drill]) -> Iterator[Drill]:
    """Your service with ``RATE_LIMIT_FAIL_OPEN=false``, healed after each test."""
    yield from _healed(services_under_drill("strict"))
