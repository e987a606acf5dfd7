"""Drills on Redis: the cache and the rate limiter must never take the service down with them.

The service runs with ``REDIS_TIMEOUT_S=0.25``, a breaker that opens after 3 failures for 0.2 s,
and a limit of 5 requests per client per 60 s window (load requests each use a fresh client id,
so only the tests that mean to hit the limit do).
"""

from __future__ import annotations

import random
from collections.abc import Callable


def _get_each(items: list[dict]) -> Callable[[int, int], tuple[str, str, None]]:
    def make(thread: int, n: int) -> tuple[str, str, None]:
        return "GET", f"/items/{items[(thread * 7 + n) % len(items)]['id']}", None
    return make


def _same_client_burst(drill, client_id: str, item_id: str, count: int) -> list:
    return [drill.request("GET", f"/items/{item_id}", client_id=client_id) for _ in range(count)]


def test_rate_limit_is_enforced_while_redis_is_up(drill) -> None:
    item = drill.create_items(1)[0]
    client_id = f"alice-{random.random()}"
    burst = _same_client_burst(drill, client_id, item["id"], 15)
    allowed = [o for o in burst if o.status == 200]
    limited = [o for o in burst if o.status == 429]
    assert len(allowed) + len(limited) == 15, (
        "expected only 200 and 429 answers; got " + ", ".join(o.describe() for o in burst[:3])
        + "\nlook at RateLimiter.check in limiter.py")
    # A fixed window may straddle a boundary once: at most twice the limit can get through.
    assert 5 <= len(allowed) <= 10, (
        f"expected 5 (at most 10 across a window boundary) of 15 requests allowed with RATE_LIMIT=5; "
        f"got {len(allowed)}\nlook at RateLimiter.check in limiter.py (INCR a per-client, per-window key)")
    assert all(o.headers.get("retry-after", "").isdigit() for o in limited), (
        "expected every 429 to carry Retry-After: <seconds until the window resets>; got "
        f"{limited[0].headers}\nlook at the Decision RateLimiter.check returns")
    other = drill.request("GET", f"/items/{item['id']}", client_id=f"bob-{random.random()}")
    assert other.status == 200, f"another client must not share alice's limit; got {other.describe()}"


def test_redis_down_reads_are_served_from_postgres(drill) -> None:
    items = drill.create_items(12)
    for item in items:  # warm the cache: the outage must not strand these entries
        drill.request("GET", f"/items/{item['id']}")
    drill.redis.cut()

    outcomes = drill.drive(_get_each(items), seconds=0.8)

    drill.assert_only_designed_failures(
        outcomes, {200}, "ItemCache.get in cache.py (a Redis error is a miss, never an exception)")
    by_id = {item["id"]: item for item in items}
    wrong = [o for o in outcomes if o.body != by_id[o.path.rsplit("/", 1)[1]]]
    assert not wrong, f"expected the stored item back from PostgreSQL; got {wrong[0].describe()}"
    write = drill.request("POST", "/items", json={"name": "during outage", "price_cents": 1})
    assert write.status == 201, (
        f"with Redis down a write only loses its cache fill; expected 201, got {write.describe()}\n"
        "look at ItemCache.put in cache.py (best effort, never raises)")


def test_limiter_fails_open_when_redis_is_down(drill) -> None:
    item = drill.create_items(1)[0]
    drill.redis.cut()
    burst = _same_client_burst(drill, f"carol-{random.random()}", item["id"], 15)
    refused = [o for o in burst if o.status != 200]
    assert not refused, (
        f"expected RATE_LIMIT_FAIL_OPEN=true to allow all 15 requests while Redis is down (the limit is "
        f"5); got {len(refused)} refused, e.g. {refused[0].describe()}\n"
        "look at RateLimiter.check in limiter.py: when Redis cannot answer, fail_open decides")


def test_limiter_can_be_configured_to_fail_closed(strict_drill) -> None:
    strict = strict_drill
    item = strict.create_items(1)[0]
    before = strict.request("GET", f"/items/{item['id']}")
    assert before.status == 200, f"with Redis up a fail-closed limiter still allows; got {before.describe()}"
    strict.redis.cut()
    outcomes = [strict.request("GET", f"/items/{item['id']}") for _ in range(8)]
    strict.assert_only_designed_failures(
        outcomes, {503}, "RateLimiter.check in limiter.py: with fail_open=False, raise Unavailable")
    strict.redis.heal()
    strict.wait_until_serving()
    after = strict.request("GET", f"/items/{item['id']}")
    assert after.status == 200, f"after heal the limiter must allow again; got {after.describe()}"


def test_slow_redis_is_cut_off_by_timeouts_and_the_breaker(drill) -> None:
    items = drill.create_items(12)
    baseline = drill.drive(_get_each(items), seconds=0.6)  # same run, same machine, nothing broken
    drill.redis.delay(1.5)  # every Redis round trip now takes at least 3 s

    outcomes = drill.drive(_get_each(items), seconds=1.2)

    drill.assert_only_designed_failures(
        outcomes, {200}, "connect_redis in cache.py: socket_timeout, socket_connect_timeout, no retries")
    timeout = drill.redis_timeout_s
    budget = 3 * timeout  # limiter + cache get + cache fill, each cut off at the timeout
    # Bounds are "what this machine does with nothing broken" plus a multiple of the budget, so a
    # busy machine moves both sides; a missing timeout costs >= 3 s a call and fails by far.
    normal_p99 = drill.percentile([o.seconds for o in baseline], 0.99)
    p99 = drill.percentile([o.seconds for o in outcomes], 0.99)
    assert p99 < normal_p99 + 2 * budget, (
        f"expected p99 latency under the no-fault p99 ({normal_p99:.2f}s) + 2x the Redis budget "
        f"({2 * budget:.2f}s) with Redis 3 s slow; got p99 {p99:.2f}s over {len(outcomes)} requests\n"
        "look at connect_redis in cache.py: every call needs a timeout")
    normal_median = drill.percentile([o.seconds for o in baseline], 0.5)
    median = drill.percentile([o.seconds for o in outcomes], 0.5)
    assert median < normal_median + timeout, (
        f"expected most requests to skip Redis once its breaker is open: median under the no-fault "
        f"median ({normal_median:.3f}s) + one Redis timeout ({timeout}s); got {median:.3f}s — requests "
        "still wait for Redis\nlook at ItemCache and RateLimiter: ask breaker.allow() first, then "
        "report success() or failure()")
