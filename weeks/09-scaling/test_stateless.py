"""Lab scaling/stateless — three real uvicorn instances on one Redis behave as one service.

One client's requests are spread over the three instances, as a load balancer would spread them:
its session, its rate limit and its idempotency keys must hold wherever a request lands.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from course import services
from course.concurrently import run_together
from course.processes import ProcessFailed, RunningProcess, start_process

LESSON = "weeks/09-scaling/README.md, section 'State lives in Redis'"
APP = "labs.week09_scaling.api:create_app"
NAMES = ("a", "b", "c")
RATE_LIMIT = 12
BURST = 40  # one client's requests, spread over the instances: 3 x 12 < 40


class Cluster:
    """Three instances; ``client(n)`` talks to instance ``n % 3``."""

    def __init__(self, processes: list[RunningProcess], redis_url: str) -> None:
        self.processes = processes
        self.redis_url = redis_url
        self.clients = [httpx.Client(base_url=p.url, timeout=20) for p in processes]

    def client(self, n: int) -> httpx.Client:
        return self.clients[n % len(self.clients)]

    def login(self, n: int = 0) -> dict[str, str]:
        user = f"u{uuid.uuid4().hex[:12]}"
        response = self.client(n).post("/v1/sessions", json={"user": user})
        assert response.status_code == 201, (
            f"setting up: POST /v1/sessions on instance {NAMES[n % 3]} should answer 201; got "
            f"{response.status_code} {response.text[:300]}")
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def output(self) -> str:
        pairs = zip(NAMES, self.processes, strict=True)
        return "\n".join(f"--- instance {name}:\n{p.output(last_lines=8)}" for name, p in pairs)


@pytest.fixture(scope="module")
def cluster(redis_server_url: str) -> Iterator[Cluster]:
    redis_url = services.allocate_redis_db(redis_server_url)
    command = [sys.executable, "-m", "uvicorn", APP, "--factory", "--host", "127.0.0.1", "--port", "{port}",
               "--log-level", "warning"]
    env = {"REDIS_URL": redis_url, "RATE_LIMIT": str(RATE_LIMIT), "RATE_WINDOW_S": "3600"}
    started: dict[str, RunningProcess | BaseException] = {}

    def start(name: str) -> None:  # three imports of FastAPI at once: overlap them
        try:
            started[name] = start_process(command, env=env | {"INSTANCE": name}, timeout=60)
        except BaseException as exc:
            started[name] = exc

    threads = [threading.Thread(target=start, args=(name,)) for name in NAMES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    running = [p for p in started.values() if isinstance(p, RunningProcess)]
    failures = [str(e) for e in started.values() if isinstance(e, ProcessFailed)]
    try:
        if len(running) < len(NAMES):
            last = "\n".join(failures[0].splitlines()[-4:]) if failures else str(started)
            pytest.fail(f"the instances of {APP} did not start; the last words of one:\n{last}",
                        pytrace=False)
        ordered = [started[name] for name in NAMES]
        yield Cluster([p for p in ordered if isinstance(p, RunningProcess)], redis_url)
    finally:
        for process in running:
            process.stop()
        services.release_redis_db(redis_url)


def test_three_instances_are_up_and_ready(cluster: Cluster) -> None:
    for n, name in enumerate(NAMES):
        response = cluster.client(n).get("/readyz")
        assert response.status_code == 200 and response.headers.get("x-instance") == name, (
            f"expected instance {name} to answer /readyz 200 with X-Instance: {name}; got "
            f"{response.status_code} {response.text[:200]}\n{cluster.output()}")


def test_a_session_made_on_one_instance_works_on_all(cluster: Cluster) -> None:
    auth = cluster.login(0)
    statuses = {NAMES[n]: cluster.client(n).get("/v1/notes", headers=auth).status_code for n in range(3)}
    assert set(statuses.values()) == {200}, (
        f"expected the session created on instance a to be valid on a, b and c; got {statuses}. A session "
        f"kept in process memory exists only where it was made. See {LESSON}.")


def test_the_rate_limit_holds_across_instances(cluster: Cluster) -> None:
    auth = cluster.login(0)
    answers = [cluster.client(n).get("/v1/notes", headers=auth) for n in range(BURST)]

    allowed = [a for a in answers if a.status_code == 200]
    limited = [a for a in answers if a.status_code == 429]
    assert len(allowed) + len(limited) == BURST, (
        f"expected only 200s and 429s; got {sorted({a.status_code for a in answers})}: "
        f"{answers[0].text[:200]}")
    # A fixed window may straddle its boundary once: at most twice the limit, never once per instance.
    assert RATE_LIMIT <= len(allowed) <= 2 * RATE_LIMIT, (
        f"expected one client to get {RATE_LIMIT} requests (RATE_LIMIT={RATE_LIMIT}) however its {BURST} "
        f"requests are spread over 3 instances; it got {len(allowed)}. A counter in process memory counts "
        f"only its own instance's share — three instances, three limits. See {LESSON}.")
    assert all(a.headers.get("retry-after", "").isdigit() for a in limited), (
        f"expected every 429 to carry Retry-After; got {limited[0].headers if limited else 'no 429'}")


def post(cluster: Cluster, n: int, auth: dict[str, str], key: str, text: str) -> httpx.Response:
    return cluster.client(n).post("/v1/notes", json={"text": text}, headers=auth | {"Idempotency-Key": key})


def test_a_retry_on_another_instance_is_replayed(cluster: Cluster) -> None:
    auth = cluster.login(0)
    first = post(cluster, 0, auth, "retry-k", "pay rent")
    retry = post(cluster, 1, auth, "retry-k", "pay rent")
    reused = post(cluster, 2, auth, "retry-k", "pay less rent")

    assert first.status_code == 201, (
        f"expected 201 from instance a; got {first.status_code} {first.text[:200]}")
    assert retry.status_code == 201 and retry.json() == first.json() and \
        retry.headers.get("idempotent-replayed") == "true", (
            f"expected the retry on instance b to replay a's response {first.json()} with "
            f"Idempotent-Replayed: true; got {retry.status_code} {retry.text[:200]} {dict(retry.headers)}. "
            f"See {LESSON}.")
    assert reused.status_code == 422, (
        f"expected the key reused with another body on instance c to be refused 422; got "
        f"{reused.status_code}")


def test_concurrent_duplicates_across_instances_create_one_note(cluster: Cluster) -> None:
    auth = cluster.login(0)
    results = run_together(lambda n: post(cluster, n, auth, "dup-k", "one and only"), 9)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, f"expected 9 answers; {len(errors)} requests failed, e.g. {errors[0]!r}"
    answers = [r for r in results if isinstance(r, httpx.Response)]
    statuses = sorted(a.status_code for a in answers)
    ids = {a.json()["id"] for a in answers if a.status_code == 201}
    notes = cluster.client(0).get("/v1/notes", headers=auth).json()["items"]
    assert set(statuses) <= {201, 409} and len(ids) == 1 and len(notes) == 1, (
        f"expected 9 simultaneous POSTs with one Idempotency-Key, spread over 3 instances, to create one "
        f"note (the rest replayed 201 or 409 in progress); got statuses {statuses}, ids {sorted(ids)}, "
        f"{len(notes)} notes stored. See {LESSON}.")


def test_every_key_the_service_keeps_for_a_client_expires(cluster: Cluster) -> None:
    auth = cluster.login(0)
    post(cluster, 1, auth, "ttl-k", "remember me")
    cluster.client(2).get("/v1/notes", headers=auth)
    with redis.Redis.from_url(cluster.redis_url, decode_responses=True) as client:
        ttls: dict[str, Any] = {key: client.pttl(key) for key in client.scan_iter(count=1000)
                                if not key.startswith("notes:")}  # the notes are data: they stay
    forever = sorted(key for key, ttl in ttls.items() if ttl < 0)
    assert ttls and not forever, (
        f"expected every session, counter and idempotency record to carry a TTL; these never expire: "
        f"{forever[:5]}. Redis holding per-client state without TTLs only grows. See {LESSON}.")
