"""Drills on Redis: the cache and the rate limiter must never take the service down with them.

The service runs with ``REDIS_TIMEOUT_S=0.25``, a breaker that opens after 3 failures for 0.2 s,
and a limit of 5 requests per client per 60 s window (load requests each use a fresh client id,
so only the tests that mean to hit the limit do). The first tests drive the cache and the limiter
directly, in this process, against the real Redis behind a chaos proxy of their own.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import redis

from course.chaos import ChaosProxy
from course.load import LoadReport, Outcome
from labs.week08_failure_drills.breaker import BreakerState, CircuitBreaker
from labs.week08_failure_drills.cache import ItemCache, connect_redis
from labs.week08_failure_drills.errors import Unavailable
from labs.week08_failure_drills.limiter import RateLimiter
from labs.week08_failure_drills.models import Item

if TYPE_CHECKING:
    from conftest import ItemService

CACHE = "ItemCache in cache.py (see weeks/08-failure-drills/README.md, section 'Breakers and bulkheads')"
LIMITER = ("RateLimiter.check in limiter.py (see weeks/08-failure-drills/README.md, "
           "section 'Fail open or fail closed')")


@pytest.fixture
def redis_proxy(redis_url: str) -> Iterator[ChaosProxy]:
    with ChaosProxy.for_url(redis_url) as proxy:
        yield proxy


def _item(name: str = "widget") -> Item:
    return Item(id=uuid.uuid4(), name=name, price_cents=250)


def test_connect_redis_bounds_every_call(redis_url: str, redis_proxy: ChaosProxy) -> None:
    client = connect_redis(redis_proxy.url(redis_url), 0.2)
    try:
        client.set("k", "v")
        value = client.get("k")
        assert value == "v", (
            f"expected decode_responses=True: str values, not bytes; got {value!r}; look at connect_redis "
            "in cache.py (see weeks/08-failure-drills/README.md, section 'Timeouts everywhere')")
        redis_proxy.delay(1.0)  # a round trip now takes 2 s
        started = time.monotonic()
        try:
            outcome = f"answered {client.get('k')!r}"
        except redis.RedisError as exc:
            outcome = f"raised {type(exc).__name__}"
        took = time.monotonic() - started
    finally:
        redis_proxy.heal()
        client.close()
    assert took < 0.9, (
        f"expected a GET against a 2 s-slow Redis to give up after about timeout_s=0.2 s; it {outcome} "
        f"after {took:.2f}s. Set socket_timeout and socket_connect_timeout, and retries=0 — look at "
        "connect_redis in cache.py (see weeks/08-failure-drills/README.md, section 'Timeouts everywhere')")


def test_cache_entries_expire_after_ttl_s(redis_url: str, redis_client: redis.Redis) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=60)
    cache = ItemCache(connect_redis(redis_url, 0.5), breaker, ttl_s=120)
    item = _item()
    cache.put(item)
    key = ItemCache.key(item.id)
    ttl_ms = redis_client.pttl(key)
    assert 115_000 <= ttl_ms <= 120_000, (
        f"expected the entry {key} to expire after ttl_s=120 s (PTTL about 120000 ms); got PTTL {ttl_ms} "
        "(-1: no expiry, the entry outlives every change to the item; -2: nothing written). Pass ex=ttl_s "
        f"in the same SET; look at {CACHE}")
    assert cache.get(item.id) == item, (
        f"expected the cached item back; got {cache.get(item.id)!r}; look at {CACHE}")
    assert cache.get(uuid.uuid4()) is None, f"expected None for a key never written; look at {CACHE}"
    redis_client.set(ItemCache.key(item.id), "{not json")
    assert cache.get(item.id) is None, (
        f"expected an unreadable entry to be a miss (None), not an error; look at {CACHE}")


def test_the_cache_reports_every_call_to_its_breaker(redis_url: str, redis_proxy: ChaosProxy,
                                                     redis_client: redis.Redis) -> None:
    """The cache alone, with a breaker of its own: nothing else can open it on the cache's behalf."""
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=60)
    cache = ItemCache(connect_redis(redis_proxy.url(redis_url), 0.2), breaker)
    stored = _item("cached before the outage")
    cache.put(stored)
    redis_proxy.cut()
    misses = [cache.get(stored.id) for _ in range(3)]
    assert misses == [None] * 3, f"expected a Redis error to be a miss (None); got {misses}; look at {CACHE}"
    assert breaker.state is BreakerState.OPEN, (
        f"expected the cache's breaker to open after 3 failed GETs (failure_threshold=3); it is "
        f"{breaker.state!r}: the cache does not report its failures. Make each Redis call through "
        f"breaker.call(...); look at {CACHE}")
    redis_proxy.heal()
    assert cache.get(stored.id) is None, (
        "expected an open circuit to skip Redis (a miss at once) even though Redis is back and holds the "
        f"item; the cache asked Redis anyway; look at {CACHE}")
    later = _item("written while open")
    cache.put(later)
    assert redis_client.exists(ItemCache.key(later.id)) == 0, (
        f"expected put() to skip Redis while the circuit is open; the entry was written; look at {CACHE}")


def test_the_limiter_answers_a_full_decision(redis_url: str, redis_client: redis.Redis) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=60)
    limiter = RateLimiter(connect_redis(redis_url, 0.5), breaker, limit=3, window_s=3600)
    client = f"dana-{random.random()}"
    decisions = [limiter.check(client) for _ in range(4)]
    got = [(d.allowed, d.limit, d.remaining) for d in decisions]
    expected = [(True, 3, 2), (True, 3, 1), (True, 3, 0), (False, 3, 0)]
    assert got == expected, (
        f"expected (allowed, limit, remaining) {expected} for 4 requests with limit=3; got {got}; "
        f"look at {LIMITER}")
    waits = [(d.retry_after_s, d.reset_after_s) for d in decisions]
    assert all(0 < reset <= 3600 for _, reset in waits) and waits[0][0] == 0.0 and waits[1][0] == 0.0, (
        f"expected reset_after_s in (0, 3600] (seconds until the window ends) and retry_after_s 0.0 while "
        f"requests remain; got (retry_after_s, reset_after_s) {waits}; look at {LIMITER}")
    assert all(retry == pytest.approx(reset, abs=1) and retry > 0 for retry, reset in waits[2:]), (
        f"expected retry_after_s = reset_after_s once nothing remains (the next request waits for the "
        f"window to end); got {waits[2:]}; look at {LIMITER}")
    # Whatever the key is called, it names the client: the only keys in this test's database.
    ttls = [redis_client.ttl(key) for key in redis_client.scan_iter(f"*{client}*")]
    assert ttls and all(0 < ttl <= 3600 for ttl in ttls), (
        f"expected the window's counter to expire with the window (TTL in (0, 3600]); got TTLs {ttls}; "
        f"look at {LIMITER}")
    other = limiter.check(f"erin-{random.random()}")
    assert (other.allowed, other.remaining) == (True, 2), (
        f"expected another client to have a count of its own (allowed, remaining 2); got {other}: the "
        f"key must name the client; look at {LIMITER}")


def test_the_limiter_without_redis_follows_its_policy(redis_url: str, redis_proxy: ChaosProxy) -> None:
    url = redis_proxy.url(redis_url)
    redis_proxy.cut()
    open_breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=30)
    lenient = RateLimiter(connect_redis(url, 0.2), open_breaker, limit=1, window_s=60, fail_open=True)
    answers = [lenient.check("frank") for _ in range(3)]
    assert all(d.allowed for d in answers), (
        f"expected fail_open=True to allow every request while Redis is down; got {answers}; "
        f"look at {LIMITER}")
    assert open_breaker.state is BreakerState.OPEN, (
        f"expected the limiter's failures to open its breaker (failure_threshold=2); it is "
        f"{open_breaker.state!r}: make the Redis call through breaker.call(...); look at {LIMITER}")
    strict = RateLimiter(connect_redis(url, 0.2), CircuitBreaker(failure_threshold=2, reset_timeout_s=30),
                         limit=1, window_s=60, fail_open=False)
    for attempt in range(3):  # a failing call, then a failing call that opens it, then an open circuit
        with pytest.raises(Unavailable) as refused:
            strict.check("grace")
        wait = refused.value.retry_after_s
        assert 0 < wait <= 30, (
            f"attempt {attempt + 1}: expected Unavailable.retry_after_s in (0, 30] (the breaker's "
            f"reset_timeout_s, or what is left of it); got {wait!r}; look at {LIMITER}")


def _get_each(items: list[dict]) -> Callable[[int, int], tuple[str, str, None]]:
    def make(thread: int, n: int) -> tuple[str, str, None]:
        return "GET", f"/items/{items[(thread * 7 + n) % len(items)]['id']}", None
    return make


def _same_client_burst(drill: ItemService, client_id: str, item_id: str, count: int) -> list[Outcome]:
    return [drill.request("GET", f"/items/{item_id}", client_id=client_id) for _ in range(count)]


def test_rate_limit_is_enforced_while_redis_is_up(drill: ItemService) -> None:
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
    assert other.status == 200, (
        f"another client must not share alice's limit; got {other.describe()}\n"
        "look at RateLimiter.check in limiter.py: one key per client and window")


def test_redis_down_reads_are_served_from_postgres(drill: ItemService) -> None:
    items = drill.create_items(12)
    for item in items:  # warm the cache: the outage must not strand these entries
        drill.request("GET", f"/items/{item['id']}")
    drill.redis.cut()

    report = drill.drive(_get_each(items), seconds=0.8)

    drill.assert_only_designed_failures(
        report, {200}, "ItemCache.get in cache.py (a Redis error is a miss, never an exception)")
    by_id = {item["id"]: item for item in items}
    wrong = [o for o in report.outcomes if o.body != by_id[o.path.rsplit("/", 1)[1]]]
    assert not wrong, (
        f"expected the stored item back from PostgreSQL; got {wrong[0].describe()}\n"
        "look at read_item in service.py")
    write = drill.request("POST", "/items", json={"name": "during outage", "price_cents": 1})
    assert write.status == 201, (
        f"with Redis down a write only loses its cache fill; expected 201, got {write.describe()}\n"
        "look at ItemCache.put in cache.py (best effort, never raises)")


def test_limiter_fails_open_when_redis_is_down(drill: ItemService) -> None:
    item = drill.create_items(1)[0]
    drill.redis.cut()
    burst = _same_client_burst(drill, f"carol-{random.random()}", item["id"], 15)
    refused = [o for o in burst if o.status != 200]
    assert not refused, (
        f"expected RATE_LIMIT_FAIL_OPEN=true to allow all 15 requests while Redis is down (the limit is "
        f"5); got {len(refused)} refused, e.g. {refused[0].describe()}\n"
        "look at RateLimiter.check in limiter.py: when Redis cannot answer, fail_open decides")


def test_limiter_can_be_configured_to_fail_closed(strict_drill: ItemService) -> None:
    strict = strict_drill
    item = strict.create_items(1)[0]
    before = strict.request("GET", f"/items/{item['id']}")
    assert before.status == 200, (
        f"with Redis up a fail-closed limiter still allows; got {before.describe()}\n"
        "look at RateLimiter.check in limiter.py: fail_open only decides when Redis cannot answer")
    strict.redis.cut()
    outcomes = LoadReport(tuple(strict.request("GET", f"/items/{item['id']}") for _ in range(8)))
    strict.assert_only_designed_failures(
        outcomes, {503}, "RateLimiter.check in limiter.py: with fail_open=False, raise Unavailable")
    strict.redis.heal()
    strict.wait_until_ready()
    after = strict.request("GET", f"/items/{item['id']}")
    assert after.status == 200, (
        f"after heal the limiter must allow again; got {after.describe()}\n"
        "look at RateLimiter.check in limiter.py: every call through the breaker, so its trial can close it")


def test_slow_redis_is_cut_off_by_timeouts_and_the_breaker(drill: ItemService) -> None:
    items = drill.create_items(12)
    baseline = drill.drive(_get_each(items), seconds=0.6)  # same run, same machine, nothing broken
    drill.redis.delay(1.5)  # every Redis round trip now takes at least 3 s

    report = drill.drive(_get_each(items), seconds=1.2)

    drill.assert_only_designed_failures(
        report, {200}, "connect_redis in cache.py: socket_timeout, socket_connect_timeout, no retries")
    timeout = drill.redis_timeout_s
    budget = 3 * timeout  # limiter + cache get + cache fill, each cut off at the timeout
    # Bounds are "what this machine does with nothing broken" plus a multiple of the budget, so a
    # busy machine moves both sides; a missing timeout costs >= 3 s a call and fails by far.
    normal_p99, p99 = baseline.p99_s, report.p99_s
    assert p99 < normal_p99 + 2 * budget, (
        f"expected p99 latency under the no-fault p99 ({normal_p99:.2f}s) + 2x the Redis budget "
        f"({2 * budget:.2f}s) with Redis 3 s slow; got {report.summary()}\n"
        "look at connect_redis in cache.py: every call needs a timeout")
    normal_median, median = baseline.p50_s, report.p50_s
    assert median < normal_median + timeout, (
        f"expected most requests to skip Redis once its breaker is open: median under the no-fault "
        f"median ({normal_median:.3f}s) + one Redis timeout ({timeout}s); got {median:.3f}s — requests "
        "still wait for Redis\nlook at ItemCache and RateLimiter: make every Redis call through "
        "breaker.call(...), so an open circuit refuses at once")
