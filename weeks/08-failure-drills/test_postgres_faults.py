"""Drills on PostgreSQL: cached reads survive an outage, writes fail honestly, a slow database costs
a bounded wait, nothing acknowledged is lost, and the service recovers by itself.

``drill.postgres`` and ``drill.redis`` are the chaos proxies between your service and each
dependency; the tests check PostgreSQL directly, around the proxy, for the truth.
"""

from __future__ import annotations

import random
import uuid
from typing import TYPE_CHECKING, Any

from course import drills
from course.load import Load, Outcome

if TYPE_CHECKING:
    from conftest import ItemService

RECOVERY_S = 2.5  # heal() → first acknowledged write: a breaker period (0.2 s) plus a busy machine


def test_postgres_down_cached_reads_are_served(drill: ItemService) -> None:
    items = drill.create_items(12)
    for item in items:  # read once: read-through fills the cache
        drill.request("GET", f"/items/{item['id']}")
    drill.postgres.cut()

    report = drill.drive(lambda t, n: ("GET", f"/items/{items[(t * 5 + n) % len(items)]['id']}", None),
                         seconds=0.8)

    drill.assert_only_designed_failures(
        report, {200}, "read_item in service.py: a cache hit must not need PostgreSQL")
    miss = drill.request("GET", f"/items/{uuid.uuid4()}")
    assert miss.status == 503 and miss.headers.get("retry-after", "").isdigit(), (
        "expected a cache miss during the outage to be 503 with Retry-After (the service cannot know "
        f"whether the item exists); got {miss.describe()} headers={miss.headers}\n"
        "look at read_item in service.py and unavailable_response in app.py")


def test_a_missing_item_is_404_while_postgres_is_up(drill: ItemService) -> None:
    for _ in range(4):  # more than the breaker's threshold: a 404 is an answer, not a failure
        missing = drill.request("GET", f"/items/{uuid.uuid4()}")
        assert missing.status == 404, (
            f"expected 404 for an item that does not exist, with PostgreSQL up; got {missing.describe()}\n"
            "look at read_item in service.py: no row is None (a 404), not an error, and nothing to cache")
    item = drill.create_items(1)[0]
    found = drill.request("GET", f"/items/{item['id']}")
    assert (found.status, found.body) == (200, item), (
        f"expected the item just written back with 200; got {found.describe()}\n"
        "look at read_item in service.py")


def test_postgres_down_writes_get_503_with_retry_after(drill: ItemService) -> None:
    drill.postgres.cut()

    report = drill.drive(lambda t, n: ("POST", "/items", {"name": f"w{t}-{n}", "price_cents": n}),
                         seconds=0.6)

    drill.assert_only_designed_failures(
        report, {503}, "create_item in service.py (connection errors → Unavailable) and app.py")
    assert report.p99_s < drill.db_budget_s, (
        f"expected p99 under the PostgreSQL budget (connect + pool timeouts, {drill.db_budget_s:.1f}s) — a "
        f"refused connection fails at once; got {report.summary()}\n"
        "look at the PostgreSQL breaker in service.py")


def test_slow_postgres_is_cut_off_by_the_pool_and_the_breaker(drill: ItemService) -> None:
    """PostgreSQL slowed, not cut: nothing is refused, every round trip just takes 0.8 s.

    A request that gets a pooled connection waits out the slow queries; the others wait at most
    the pool timeout (0.5 s) and must get a 503 — and once the breaker has seen three of those,
    the rest must be refused at once instead of queueing for the pool.
    """
    tag = f"slow-{random.randrange(10**9)}"
    baseline = drill.drive(lambda t, n: ("POST", "/items", {"name": f"{tag}-b{t}-{n}", "price_cents": n}),
                           seconds=0.4)
    drill.postgres.delay(0.4)

    report = drill.drive(lambda t, n: ("POST", "/items", {"name": f"{tag}-{t}-{n}", "price_cents": n}),
                         seconds=1.5, clients=8)

    drill.assert_only_designed_failures(
        report, {201, 503},
        "service.py: a pool timeout (sqlalchemy.exc.TimeoutError) is PostgreSQL failing to answer in time — "
        "a designed 503 (DB_DOWN), never a 500")
    assert report.statuses()[503] >= 3, (
        f"expected requests that cannot get a pooled connection within the pool timeout to be refused "
        f"with 503; got {report.summary()}\nlook at _with_postgres / DB_DOWN in service.py")
    normal = baseline.p50_s
    assert report.p50_s < normal + drill.db_pool_timeout_s / 2, (
        f"expected most writes to be refused at once once the PostgreSQL breaker opens: median under the "
        f"no-fault median ({normal:.3f}s) + half the pool timeout ({drill.db_pool_timeout_s / 2:.2f}s); "
        f"got {report.summary()} — requests still queue for PostgreSQL\n"
        "look at read_item/create_item in service.py: every PostgreSQL call goes through "
        "deps.db_breaker.call(...), and a pool timeout counts as a failure")


def test_readiness_reports_degraded_and_recovers(drill: ItemService) -> None:
    ready = drill.request("GET", "/readyz")
    healthy = {"status": "ok", "checks": {"postgres": "up", "redis": "up"}}
    assert (ready.status, ready.body) == (200, healthy), (
        f"expected /readyz 200 {healthy}; got {ready.describe()}\nlook at readiness in service.py")
    for down, up in ((drill.postgres, "redis"), (drill.redis, "postgres")):
        name = "postgres" if up == "redis" else "redis"
        down.cut()
        ready = drill.request("GET", "/readyz")
        expected = {"status": "degraded", "checks": {name: "down", up: "up"}}
        assert (ready.status, ready.body) == (200, expected), (
            f"with {name} down expected /readyz 200 {expected} (degraded is still ready: the service "
            f"can serve part of its traffic); got {ready.describe()}\nlook at readiness in service.py")
        down.heal()
    drill.postgres.cut()
    drill.redis.cut()
    ready = drill.request("GET", "/readyz")
    alive = drill.request("GET", "/healthz")
    drill.postgres.heal()
    drill.redis.heal()
    body: Any = ready.body if isinstance(ready.body, dict) else {}
    assert (ready.status, body.get("status"), body.get("checks")) == (
        503, "down", {"postgres": "down", "redis": "down"}), (
        f"with both dependencies down expected /readyz 503 with status 'down' and both checks 'down'; "
        f"got {ready.describe()}\nlook at readiness in service.py")
    assert ready.headers.get("retry-after", "").isdigit(), (
        f"expected Retry-After on the /readyz 503 (every 503 says when to come back); got {ready.headers}\n"
        "look at readyz in app.py")
    assert alive.status == 200, (
        f"expected /healthz 200 even with every dependency down (liveness never checks them: a restart "
        f"would not fix PostgreSQL); got {alive.describe()}\nlook at healthz in app.py")
    drill.wait_until_ready()
    write = drill.request("POST", "/items", json={"name": "after the outage", "price_cents": 1})
    assert write.status == 201, (
        f"after heal() the service must recover by itself (no restart); got {write.describe()}\n"
        f"look at the breakers and the engine's pool_pre_ping. Server output:\n{drill.output()}")


def test_every_acknowledged_write_survives_an_outage(drill: ItemService) -> None:
    tag = f"outage-{random.randrange(10**9)}"

    def write(t: int, n: int) -> tuple[str, str, dict[str, Any]]:
        return "POST", "/items", {"name": f"{tag}-{t}-{n}", "price_cents": n}

    def acknowledged(outcome: Outcome) -> str | None:
        return outcome.body["id"] if outcome.status == 201 else None

    load = Load(drill.process.url, write, clients=4, max_duration_s=15, max_requests=3_000, timeout_s=6.0)
    report = drills.run_drill(load, drills.cut(drill.postgres), before_s=0.4, fault_s=0.6,
                              recover_within_s=RECOVERY_S, after_s=0.1,
                              acknowledged=acknowledged, stored=drill.rows)

    assert not report.lost, (
        f"{len(report.lost)} of {len(report.acknowledged)} writes answered 201 are not in PostgreSQL: the "
        "client was told 'saved' and it was not. Acknowledge only after COMMIT has returned.\n"
        f"look at create_item in service.py\n{report.summary()}")
    drill.assert_only_designed_failures(report.all, {201, 503}, "create_item in service.py")
    assert report.during.statuses()[503] > 0, (
        f"the outage should have refused some writes with 503; none were refused\n"
        f"look at create_item in service.py: a PostgreSQL error becomes Unavailable\n{report.summary()}")
    assert report.recovered, (
        f"after heal(), writes should succeed again within {RECOVERY_S:.1f}s; none did\n"
        "look at the PostgreSQL breaker and pool_pre_ping: recovery must be automatic.\n"
        f"{report.summary()}\nServer output:\n{drill.output()}")
