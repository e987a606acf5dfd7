"""Fixtures for the drills: your service as a real uvicorn process, with a chaos proxy in front of
PostgreSQL and another in front of Redis. The load generator and the drill runner are the
course's own (``course.load``, ``course.drills``); only what is about this service lives here.

    client threads ──HTTP──▶ uvicorn (your app) ──▶ ChaosProxy ──▶ PostgreSQL
                                               └──▶ ChaosProxy ──▶ Redis
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from course import services
from course.chaos import ChaosProxy
from course.load import LoadClient, LoadReport, MakeRequest, Outcome, run_load
from course.processes import BackgroundStart, ProcessFailed, RunningProcess, start_in_background, stop_all

APP = "labs.week08_failure_drills.app:create_app"
CLIENT_TIMEOUT_S = 6.0  # a load request slower than this counts as "no answer", not a wait
SETUP_TIMEOUT_S = 20.0  # setting up (no fault active) only has to finish, however busy the machine

REDIS_TIMEOUT_S = 0.25
BREAKER_RESET_TIMEOUT_S = 0.2
DB_CONNECT_TIMEOUT_S = 2
DB_POOL_SIZE = 3
DB_POOL_TIMEOUT_S = 0.5
SETTINGS = {
    "REDIS_TIMEOUT_S": str(REDIS_TIMEOUT_S),
    "DB_CONNECT_TIMEOUT_S": str(DB_CONNECT_TIMEOUT_S),
    "DB_POOL_SIZE": str(DB_POOL_SIZE),
    "DB_POOL_TIMEOUT_S": str(DB_POOL_TIMEOUT_S),
    "BREAKER_FAILURE_THRESHOLD": "3",
    "BREAKER_RESET_TIMEOUT_S": str(BREAKER_RESET_TIMEOUT_S),
    "RATE_LIMIT": "5",
    "RATE_WINDOW_S": "60",
    "RATE_LIMIT_FAIL_OPEN": "true",
    "RETRY_AFTER_S": "1",
}


@dataclass
class ItemService:
    """A running service plus its two proxies, and what every drill test asks of it."""

    process: RunningProcess
    postgres: ChaosProxy
    redis: ChaosProxy
    database_url: str  # direct, not proxied: the test's own view of the truth
    http: LoadClient = field(init=False)

    redis_timeout_s = REDIS_TIMEOUT_S
    db_budget_s = DB_CONNECT_TIMEOUT_S + DB_POOL_TIMEOUT_S
    db_pool_timeout_s = DB_POOL_TIMEOUT_S
    breaker_reset_timeout_s = BREAKER_RESET_TIMEOUT_S

    def __post_init__(self) -> None:
        self.http = LoadClient(self.process.url, timeout_s=SETUP_TIMEOUT_S)

    def request(self, method: str, path: str, *, client_id: str | None = None,
                json: dict[str, Any] | None = None) -> Outcome:
        headers = {"X-Client-Id": client_id} if client_id else {"X-Client-Id": f"setup-{time.monotonic_ns()}"}
        return self.http.request(method, path, json=json, headers=headers)

    def drive(self, make: MakeRequest, *, seconds: float, clients: int = 4) -> LoadReport:
        """Concurrent load for ``seconds`` (each request a fresh client id, so no rate limit bites)."""
        return run_load(self.process.url, make, duration_s=seconds, clients=clients, max_requests=2_000,
                        timeout_s=CLIENT_TIMEOUT_S)

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

    def rows(self, ids: list[str]) -> list[str]:
        """Which of ``ids`` are committed in PostgreSQL — asked directly, around the proxy."""
        with psycopg.connect(self.database_url) as conn:
            found = conn.execute("SELECT id::text FROM items WHERE id = ANY(%s::uuid[])", (ids,)).fetchall()
        return [row[0] for row in found]

    def wait_until_ready(self, timeout_s: float = 3.0) -> None:
        """After ``heal()``: wait for the breakers' trial calls so the next test starts clean."""
        time.sleep(BREAKER_RESET_TIMEOUT_S * 1.25)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready = self.request("GET", "/readyz")
            if ready.status == 200 and isinstance(ready.body, dict) and ready.body.get("status") == "ok":
                return
            time.sleep(0.05)

    def output(self) -> str:
        return self.process.output(last_lines=25)

    def assert_only_designed_failures(self, report: LoadReport, allowed: set[int], where: str) -> None:
        """Every answer is in ``allowed``; a 503 must say when to come back; no request hangs."""
        assert len(report), "the load generator sent nothing — is the service up?"
        unexpected = report.outside(allowed)
        assert not unexpected, (
            f"expected only {sorted(allowed)}; got {len(unexpected)} of {len(report)} requests outside "
            "that, e.g.\n  " + "\n  ".join(o.describe() for o in unexpected[:4]) + f"\nlook at {where}")
        bare = report.without_retry_after((503,))
        assert not bare, (
            f"expected every 503 to carry Retry-After: <whole seconds>; {len(bare)} did not, e.g. "
            f"{bare[0].describe()} headers={bare[0].headers}\nlook at unavailable_response in app.py")


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


@pytest.fixture(scope="session")
def services_under_drill(drill_database: str, drill_redis_url: str) -> Iterator[Callable[[str], ItemService]]:
    """Two instances of your service behind the same two proxies, started once per run:
    ``default`` (limiter fails open) and ``strict`` (``RATE_LIMIT_FAIL_OPEN=false``).

    Starting is mostly importing FastAPI, SQLAlchemy and friends: the first one a test asks for is
    started alone, the other in the background while tests run.
    """
    with ChaosProxy.for_url(drill_database) as postgres, ChaosProxy.for_url(drill_redis_url) as redis:
        configs: dict[str, dict[str, str]] = {"default": {}, "strict": {"RATE_LIMIT_FAIL_OPEN": "false"}}
        starting: dict[str, BackgroundStart] = {}
        running: dict[str, ItemService] = {}

        def begin(name: str) -> BackgroundStart:
            if name not in starting:
                command, env = service_command(drill_database, drill_redis_url, postgres, redis,
                                               **configs[name])
                starting[name] = start_in_background(command, env=env, timeout=60)
            return starting[name]

        def service(name: str) -> ItemService:
            if name not in running:
                failure = ""
                try:
                    process = begin(name).result()
                except ProcessFailed as exc:
                    failure = "\n".join(str(exc).splitlines()[-4:])
                if failure:  # outside `except`: one clear message, not two chained tracebacks
                    pytest.fail(f"your service ({APP}) did not start; its last words:\n{failure}",
                                pytrace=False)
                running[name] = ItemService(process, postgres, redis, drill_database)
                running[name].request("GET", "/readyz")  # warm up: first connections, lazy imports
                for other in configs:  # start the others now, while tests run: imports overlap I/O
                    begin(other)
            return running[name]

        try:
            yield service
        finally:
            for item_service in running.values():
                item_service.http.close()
            stop_all(p for p in (s.started() for s in starting.values()) if p is not None)


def _healed(service: ItemService) -> Iterator[ItemService]:
    yield service
    service.postgres.heal()
    service.redis.heal()
    service.wait_until_ready()


@pytest.fixture
def drill(services_under_drill: Callable[[str], ItemService]) -> Iterator[ItemService]:
    """Your service (limiter fails open), healed and recovered again after each test."""
    yield from _healed(services_under_drill("default"))


@pytest.fixture
def strict_drill(services_under_drill: Callable[[str], ItemService]) -> Iterator[ItemService]:
    """Your service with ``RATE_LIMIT_FAIL_OPEN=false``, healed after each test."""
    yield from _healed(services_under_drill("strict"))
