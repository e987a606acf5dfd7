"""Drills on PostgreSQL: cached reads survive an outage, writes fail honestly, nothing acknowledged
is lost, and the service recovers by itself when the database comes back.

``drill.postgres`` and ``drill.redis`` are the chaos proxies between your service and each
dependency; the tests check PostgreSQL directly, around the proxy, for the truth.
"""

from __future__ import annotations

import random
import time
import uuid

RECOVERY_S = 2.0  # heal() → first acknowledged write: a breaker period (0.2 s) plus a busy machine


def test_postgres_down_cached_reads_are_served(drill) -> None:
    items = drill.create_items(12)
    for item in items:  # read once: read-through fills the cache
        drill.request("GET", f"/items/{item['id']}")
    drill.postgres.cut()

    outcomes = drill.drive(lambda t, n: ("GET", f"/items/{items[(t * 5 + n) % len(items)]['id']}", None),
                           seconds=0.8)

    drill.assert_only_designed_failures(
        outcomes, {200}, "read_item in service.py: a cache hit must not need PostgreSQL")
    miss = drill.request("GET", f"/items/{uuid.uuid4()}")
    assert miss.status == 503 and miss.headers.get("retry-after", "").isdigit(), (
        "expected a cache miss during the outage to be 503 with Retry-After (the service cannot know "
        f"whether the item exists); got {miss.describe()} headers={miss.headers}\n"
        "look at read_item in service.py and unavailable_response in app.py")


def test_postgres_down_writes_get_503_with_retry_after(drill) -> None:
    drill.postgres.cut()

    outcomes = drill.drive(lambda t, n: ("POST", "/items", {"name": f"w{t}-{n}", "price_cents": n}),
                           seconds=0.6)

    drill.assert_only_designed_failures(
        outcomes, {503}, "create_item in service.py (connection errors → Unavailable) and app.py")
    p99 = drill.percentile([o.seconds for o in outcomes], 0.99)
    assert p99 < drill.db_budget_s, (
        f"expected p99 under the PostgreSQL budget (connect + pool timeouts, {drill.db_budget_s:.0f}s) — a "
        f"refused connection fails at once; got p99 {p99:.2f}s over {len(outcomes)} writes\n"
        "look at the PostgreSQL breaker in service.py")


def test_readiness_reports_degraded_and_recovers(drill) -> None:
    ready = drill.request("GET", "/ready")
    healthy = {"status": "ok", "checks": {"postgres": "up", "redis": "up"}}
    assert (ready.status, ready.body) == (200, healthy), (
        f"expected /ready 200 {healthy}; got {ready.describe()}\nlook at readiness in service.py")
    for down, up in ((drill.postgres, "redis"), (drill.redis, "postgres")):
        name = "postgres" if up == "redis" else "redis"
        down.cut()
        ready = drill.request("GET", "/ready")
        expected = {"status": "degraded", "checks": {name: "down", up: "up"}}
        assert (ready.status, ready.body) == (200, expected), (
            f"with {name} down expected /ready 200 {expected} (degraded is still ready: the service "
            f"can serve part of its traffic); got {ready.describe()}\nlook at readiness in service.py")
        down.heal()
    drill.wait_until_serving()
    write = drill.request("POST", "/items", json={"name": "after the outage", "price_cents": 1})
    assert write.status == 201, (
        f"after heal() the service must recover by itself (no restart); got {write.describe()}\n"
        f"look at the breakers and the engine's pool_pre_ping. Server output:\n{drill.output()}")


def test_every_acknowledged_write_survives_an_outage(drill) -> None:
    cut_at, heal_at, seconds = 0.5, 1.1, 2.4
    cut: list[float] = []  # elapsed time of cut()
    healed: list[float] = []  # monotonic time of heal()

    def faults(elapsed: float) -> None:  # runs on load thread 0, between its requests
        if not cut:
            if elapsed >= cut_at:
                drill.postgres.cut()
                cut.append(elapsed)
        elif not healed and elapsed >= heal_at:
            # Never in the call that cut: thread 0's next request always meets the outage, however
            # late a busy machine let thread 0 get here.
            drill.postgres.heal()
            healed.append(time.monotonic())

    tag = f"outage-{random.randrange(10**9)}"

    def write(t: int, n: int) -> tuple[str, str, dict]:
        return "POST", "/items", {"name": f"{tag}-{t}-{n}", "price_cents": n}

    # Bounded by time, not by a request count: fast 503s must not use up thread 0's requests
    # before it gets to heal().
    outcomes = drill.drive(write, seconds=seconds, during=faults, max_per_thread=1_000_000)
    if cut and not healed:  # the run ended before thread 0 came back to heal(): heal now
        drill.postgres.heal()
        healed.append(time.monotonic())
    # Recovery is checked on what happens after heal(), not on what time was left in the run.
    recovered = [o for o in outcomes if o.status == 201 and healed and o.started > healed[0]]
    while healed and not recovered and time.monotonic() < healed[0] + RECOVERY_S:
        method, path, body = write(99, len(outcomes))
        outcome = drill.request(method, path, json=body)
        outcomes.append(outcome)
        if outcome.status == 201:
            recovered.append(outcome)
        else:
            time.sleep(0.02)

    acknowledged = [o.body["id"] for o in outcomes if o.status == 201]
    lost = set(acknowledged) - drill.rows(acknowledged)
    assert not lost, (
        f"{len(lost)} of {len(acknowledged)} writes answered 201 are not in PostgreSQL: the client was "
        "told 'saved' and it was not. Acknowledge only after COMMIT has returned.\n"
        "look at create_item in service.py")
    drill.assert_only_designed_failures(outcomes, {201, 503}, "create_item in service.py")
    assert cut and any(o.status == 503 for o in outcomes), (
        "the outage should have refused some writes with 503; none were refused")
    assert recovered, (
        f"after heal(), writes should succeed again within {RECOVERY_S:.0f}s; none did\n"
        "look at the PostgreSQL breaker and pool_pre_ping: recovery must be automatic. Server output:\n"
        f"{drill.output()}")
