"""Lab redis/cache — cache-aside with a jittered TTL, stampede protection and a safe lock.

Everything runs against a real Redis (a flushed logical database per test).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis

from course.concurrently import run_together
from labs.week05_redis.cache import Cache
from labs.week05_redis.lock import RedisLock

LESSON = "weeks/05-redis/README.md"


class CountingLoader:
    """A loader that records how often it ran — the 'database' behind the cache."""

    def __init__(self, value: Any, delay: float = 0.0) -> None:
        self.value = value
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return self.value


def test_a_miss_loads_and_a_hit_does_not(redis_client: redis.Redis) -> None:
    cache = Cache(redis_client, ttl_s=60)
    loader = CountingLoader({"id": 7, "name": "Ada"})

    first = cache.get_or_load("user:7", loader)
    second = cache.get_or_load("user:7", loader)

    assert first == second == {"id": 7, "name": "Ada"}, (
        f"expected the loader's value back both times; got {first!r} then {second!r}")
    assert loader.calls == 1, (
        f"expected the loader to run once (miss, then hit); it ran {loader.calls} times. "
        f"Read the cache before loading — see {LESSON}, section 'Cache-aside'.")
    assert redis_client.exists(cache.key_for("user:7")), (
        f"expected the value stored under {cache.key_for('user:7')!r}; keys in Redis: "
        f"{sorted(redis_client.keys())}")


def test_every_cached_value_expires(redis_client: redis.Redis) -> None:
    cache = Cache(redis_client, ttl_s=30, jitter=0.1)
    for n in range(5):
        cache.get_or_load(f"item:{n}", CountingLoader(n))

    keys = sorted(redis_client.keys())
    without_ttl = [k for k in keys if redis_client.pttl(k) < 0]
    assert keys, "expected the cache to write keys to Redis; found none"
    assert not without_ttl, (
        f"expected every key the cache writes to have a TTL; these never expire: {without_ttl}. "
        f"A cache key without a TTL is stale forever and grows memory until eviction — "
        f"see {LESSON}, section 'TTL strategies'.")
    for n in range(5):
        ttl_ms = redis_client.pttl(cache.key_for(f"item:{n}"))
        assert 26_000 <= ttl_ms <= 33_000, (
            f"expected a TTL within ttl_s=30 s ± 10 % jitter; got {ttl_ms} ms for item:{n}")


def test_ttls_are_jittered(redis_client: redis.Redis) -> None:
    cache = Cache(redis_client, ttl_s=100, jitter=0.2)
    for n in range(100):
        cache.get_or_load(f"k{n}", CountingLoader(n))
    ttls = [redis_client.pttl(cache.key_for(f"k{n}")) for n in range(100)]

    assert min(ttls) >= 79_000 and max(ttls) <= 120_000, (
        f"expected TTLs within 100 s ± 20 %; got {min(ttls)} … {max(ttls)} ms")
    spread = max(ttls) - min(ttls)
    assert spread >= 10_000, (
        f"expected 100 keys filled together to expire spread over the ±20 % band (~40 s); "
        f"they expire within {spread} ms of each other, so they will all miss together. "
        f"Add random jitter to each TTL — see {LESSON}, section 'TTL strategies'.")


def test_jitter_is_a_fraction_and_zero_means_exact(redis_client: redis.Redis) -> None:
    exact = Cache(redis_client, ttl_s=30, jitter=0)
    draws = {exact.ttl_ms() for _ in range(50)}
    assert draws == {30_000}, (
        f"expected jitter=0 to give exactly ttl_s=30 s every time; ttl_ms() gave {sorted(draws)[:5]}")
    wide = Cache(redis_client, ttl_s=10, jitter=0.5)
    draws = {wide.ttl_ms() for _ in range(500)}
    assert min(draws) >= 5_000 and max(draws) <= 15_000 and max(draws) - min(draws) >= 5_000, (
        f"expected ttl_ms() drawn from 10 s × [0.5, 1.5] = 5 000–15 000 ms, spread across it; "
        f"500 draws gave {min(draws)} … {max(draws)}. See {LESSON}, section 'TTL strategies'.")
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError):
            Cache(redis_client, ttl_s=10, jitter=bad)


def test_concurrent_misses_call_the_loader_once(redis_client: redis.Redis) -> None:
    cache = Cache(redis_client, ttl_s=60, lock_ttl_s=10, wait_timeout_s=10)
    loader = CountingLoader({"report": "expensive"}, delay=0.3)

    results = run_together(lambda _: cache.get_or_load("report", loader), 20, timeout_s=30)

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, f"expected every caller to get the value; some raised: {errors[:3]}"
    assert loader.calls == 1, (
        f"expected 20 concurrent misses on one key to run the loader once; it ran {loader.calls} "
        f"times — a cache stampede. Let one caller take a lock (SET NX PX) and load; the others "
        f"wait for its value — see {LESSON}, section 'Stampedes'.")
    assert all(r == {"report": "expensive"} for r in results), (
        f"expected every waiter to receive the loaded value; got {[r for r in results][:5]} …")


def test_a_waiter_that_gives_up_loads_for_itself(redis_client: redis.Redis) -> None:
    patient = Cache(redis_client, ttl_s=60, lock_ttl_s=30, wait_timeout_s=30)
    hasty = Cache(redis_client, ttl_s=60, lock_ttl_s=30, wait_timeout_s=0.3)
    hasty.get_or_load("warm-up", lambda: "connected")  # (fails plainly on an unwritten starter)
    holder_started, release_holder = threading.Event(), threading.Event()

    def stuck_loader() -> Any:  # the lock holder's database query hangs until we let it go
        holder_started.set()
        release_holder.wait(timeout=20)
        return {"stock": 3}

    holder = threading.Thread(target=lambda: patient.get_or_load("stock:9", stuck_loader))
    holder.start()
    try:
        assert holder_started.wait(timeout=10), "expected the first caller to start loading"
        loader = CountingLoader({"stock": 3})
        started = time.monotonic()
        value = hasty.get_or_load("stock:9", loader)
        waited = time.monotonic() - started
    finally:
        release_holder.set()
        holder.join(timeout=30)
    assert value == {"stock": 3} and loader.calls == 1, (
        f"expected a waiter whose wait_timeout_s (0.3 s) ran out to run the loader itself and "
        f"return its value; it returned {value!r} after {waited:.1f} s, its loader ran "
        f"{loader.calls} time(s). Returning None (or the last GET) past the deadline turns a slow "
        f"database into a wrong answer; the cache is an optimisation, never the reason a request "
        f"fails — see {LESSON}, section 'Stampedes'.")
    assert waited < 10, (
        f"expected the waiter to give up after about wait_timeout_s=0.3 s; it took {waited:.1f} s — see "
        f"{LESSON}, section 'Stampedes'.")


def test_a_failing_loader_leaves_nothing_behind(redis_client: redis.Redis) -> None:
    cache = Cache(redis_client, ttl_s=60, lock_ttl_s=60, wait_timeout_s=60)

    def broken() -> Any:
        raise ConnectionError("database is down")

    with pytest.raises(ConnectionError):
        cache.get_or_load("flaky", broken)
    leftovers = sorted(redis_client.keys())
    assert leftovers == [], (
        f"expected a failed load to leave no value and no lock; found {leftovers}. A lock that is "
        f"not released on error blocks every caller until it expires — release it in `finally`.")

    started = time.monotonic()
    value = cache.get_or_load("flaky", CountingLoader("recovered"))
    assert value == "recovered", f"expected the next call to load again; got {value!r}"
    assert time.monotonic() - started < 30, "the next caller waited for a lock nobody held"


def test_invalidate_forces_a_fresh_load(redis_client: redis.Redis) -> None:
    cache = Cache(redis_client, ttl_s=60)
    cache.get_or_load("price:1", CountingLoader(100))
    cache.invalidate("price:1")
    value = cache.get_or_load("price:1", CountingLoader(120))
    assert value == 120, (
        f"expected the fresh value 120 after invalidate(); got {value!r} — invalidate must delete "
        f"the cached key so the next read goes to the source of truth.")


def test_lock_is_exclusive_and_expires(redis_client: redis.Redis) -> None:
    first = RedisLock(redis_client, "lock:job", ttl_s=5)
    second = RedisLock(redis_client, "lock:job", ttl_s=5)

    assert first.acquire() is True, "expected a free lock to be acquired"
    assert second.acquire() is False, "expected a held lock to refuse a second holder"
    ttl_ms = redis_client.pttl("lock:job")
    assert 4_000 < ttl_ms <= 5_000, (
        f"expected the lock key to carry its 5 s lease as a TTL; PTTL is {ttl_ms} ms (-1: none). "
        f"Without one a crashed holder blocks everyone for ever; a lease in seconds passed to PX "
        f"expires a thousand times too soon — SET … NX PX ttl_ms. See {LESSON}, section "
        f"'A lock you can trust'.")
    assert first.release() is True, "expected the holder's release() to return True"
    assert second.acquire() is True, "expected the lock to be free again after release()"


def test_release_never_frees_someone_elses_lock(redis_client: redis.Redis) -> None:
    slow = RedisLock(redis_client, "lock:report", ttl_s=0.1)
    assert slow.acquire()
    time.sleep(0.3)  # the slow holder outlives its lease
    fresh = RedisLock(redis_client, "lock:report", ttl_s=30)
    assert fresh.acquire(), "expected the expired lock to be free for a new holder"

    released = slow.release()
    third = RedisLock(redis_client, "lock:report", ttl_s=30)
    stolen = third.acquire()

    assert not released and not stolen, (
        f"expected the old holder's late release() to do nothing (got {released!r}) so the new "
        f"holder keeps the lock (a third caller acquired it: {stolen!r}). A bare DEL deletes "
        f"whoever holds the lock now: compare your token and delete in one Lua script — see "
        f"{LESSON}, section 'A lock you can trust'.")


def test_release_is_true_only_for_a_lease_it_deleted(redis_client: redis.Redis) -> None:
    lock = RedisLock(redis_client, "lock:export", ttl_s=30)
    never_held = lock.release()
    acquired = lock.acquire()
    first = lock.release()
    second = lock.release()
    assert (never_held, acquired, first, second) == (False, True, True, False), (
        f"expected release() to answer False before acquire(), True for the release that deleted "
        f"the lease and False for a second release; got {never_held}, (acquire {acquired}), "
        f"{first}, {second}. Return the script's reply (1 = deleted our token, 0 = nothing of ours) "
        f"so a caller can tell that its lease ran out — see {LESSON}, section 'A lock you can trust'.")
    other = RedisLock(redis_client, "lock:export", ttl_s=30)
    assert other.acquire() and not lock.release(), (
        "expected a release() after ours was done to leave the next holder's lock alone (False) — "
        f"see {LESSON}, section 'A lock you can trust'.")
    assert redis_client.exists("lock:export"), (
        f"expected the next holder to keep its lock — see {LESSON}, section 'A lock you can trust'.")
    assert lock.acquire() is False and other.release() is True and lock.acquire() is True, (
        "expected the same lock object to be acquired again once the other holder released it: "
        f"each acquire() takes a fresh token — see {LESSON}, section 'A lock you can trust'.")
