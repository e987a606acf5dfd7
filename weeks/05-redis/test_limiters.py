"""Lab redis/rate-limits — fixed window, sliding-window log and token bucket.

Every limiter takes ``now`` (seconds) so window edges are tested exactly, without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from labs.week05_redis.decision import Decision
from labs.week05_redis.fixed_window import FixedWindowLimiter
from labs.week05_redis.sliding_window import SlidingWindowLimiter
from labs.week05_redis.token_bucket import TokenBucketLimiter

LESSON = "weeks/05-redis/README.md"
T0 = 1_000_000.0  # an injected clock far from the wall clock: only `now` may decide


def make(kind: str, client: redis.Redis, size: int, period: float) -> Any:
    """A limiter of ``kind`` that allows ``size`` requests per ``period`` seconds."""
    if kind == "fixed":
        return FixedWindowLimiter(client, limit=size, window=period)
    if kind == "sliding":
        return SlidingWindowLimiter(client, limit=size, window=period)
    return TokenBucketLimiter(client, capacity=size, refill_per_second=size / period)


KINDS = ["fixed", "sliding", "token_bucket"]


def shows(decision: Decision) -> str:
    return (f"allowed={decision.allowed} remaining={decision.remaining} "
            f"retry_after={decision.retry_after} reset_after={decision.reset_after}")


def expect(decision: Decision, *, allowed: bool, remaining: int, retry_after: float,
           reset_after: float, at: str) -> None:
    got = (decision.allowed, decision.remaining, decision.retry_after, decision.reset_after)
    want = (allowed, remaining, pytest.approx(retry_after, abs=1e-6), pytest.approx(reset_after, abs=1e-6))
    assert got == want, (
        f"{at}: expected allowed={allowed} remaining={remaining} retry_after={retry_after} "
        f"reset_after={reset_after}; got {shows(decision)}. See {LESSON}, section 'Rate limiting'.")


# --------------------------------------------------------------------------- exact edges


def test_fixed_window_edges(redis_client: redis.Redis) -> None:
    limiter = FixedWindowLimiter(redis_client, limit=3, window=10)
    # T0 is a multiple of 10 s: the window is [T0, T0 + 10).
    expect(limiter.hit("u", T0), allowed=True, remaining=2, retry_after=0, reset_after=10, at="1st hit")
    expect(limiter.hit("u", T0 + 4), allowed=True, remaining=1, retry_after=0, reset_after=6, at="t+4")
    expect(limiter.hit("u", T0 + 9), allowed=True, remaining=0, retry_after=1, reset_after=1,
           at="3rd hit at t+9 (the last one)")
    expect(limiter.hit("u", T0 + 9.999), allowed=False, remaining=0, retry_after=0.001,
           reset_after=0.001, at="t+9.999, 1 ms before the window ends")
    expect(limiter.hit("u", T0 + 10), allowed=True, remaining=2, retry_after=0, reset_after=10,
           at="t+10, the first millisecond of the next window")


def test_sliding_window_edges(redis_client: redis.Redis) -> None:
    limiter = SlidingWindowLimiter(redis_client, limit=2, window=10)
    expect(limiter.hit("u", T0), allowed=True, remaining=1, retry_after=0, reset_after=10, at="t+0")
    expect(limiter.hit("u", T0 + 5), allowed=True, remaining=0, retry_after=5, reset_after=10, at="t+5")
    expect(limiter.hit("u", T0 + 9.999), allowed=False, remaining=0, retry_after=0.001,
           reset_after=5.001, at="t+9.999: the t+0 request is still inside the window")
    expect(limiter.hit("u", T0 + 10), allowed=True, remaining=0, retry_after=5, reset_after=10,
           at="t+10: the t+0 request has just left the window (window is (now-10 s, now])")
    expect(limiter.hit("u", T0 + 14.999), allowed=False, remaining=0, retry_after=0.001,
           reset_after=5.001, at="t+14.999: t+5 and t+10 are both still inside")
    expect(limiter.hit("u", T0 + 15), allowed=True, remaining=0, retry_after=5, reset_after=10,
           at="t+15: t+5 has left")


def test_sliding_window_has_no_boundary_burst(redis_client: redis.Redis) -> None:
    limiter = SlidingWindowLimiter(redis_client, limit=2, window=10)
    times = [T0 + 9, T0 + 9.5, T0 + 10, T0 + 10.5]  # straddles what a fixed window calls a boundary
    allowed = [limiter.hit("u", t).allowed for t in times]
    assert allowed == [True, True, False, False], (
        f"expected at most 2 requests in any 10 s; the hits at t+9, t+9.5, t+10, t+10.5 got "
        f"{allowed}. A fixed window resets at t+10 and lets 4 through in 1.5 s — the sliding "
        f"window must count the previous requests too. See {LESSON}, section 'Rate limiting'.")


def test_token_bucket_edges(redis_client: redis.Redis) -> None:
    limiter = TokenBucketLimiter(redis_client, capacity=3, refill_per_second=1)
    expect(limiter.hit("u", T0), allowed=True, remaining=2, retry_after=0, reset_after=1, at="1st")
    expect(limiter.hit("u", T0), allowed=True, remaining=1, retry_after=0, reset_after=2, at="2nd")
    expect(limiter.hit("u", T0), allowed=True, remaining=0, retry_after=1, reset_after=3,
           at="3rd: the burst is spent")
    expect(limiter.hit("u", T0 + 0.999), allowed=False, remaining=0, retry_after=0.001,
           reset_after=2.001, at="t+0.999: 0.999 of a token refilled, not enough")
    expect(limiter.hit("u", T0 + 1), allowed=True, remaining=0, retry_after=1, reset_after=3,
           at="t+1: exactly one token refilled")
    expect(limiter.hit("u", T0 + 3.5), allowed=True, remaining=1, retry_after=0, reset_after=1.5,
           at="t+3.5: 2.5 tokens refilled, one taken")
    expect(limiter.hit("u", T0 + 100), allowed=True, remaining=2, retry_after=0, reset_after=1,
           at="t+100: refill stops at capacity (3), one taken")


# --------------------------------------------------------------------------- under load


@pytest.mark.parametrize("kind", KINDS)
def test_never_over_the_limit_under_hammering(kind: str, redis_client: redis.Redis) -> None:
    limiter = make(kind, redis_client, size=60, period=3600)
    threads, per_thread = 16, 25
    allowed: list[bool] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(threads)
    lock = threading.Lock()

    def hammer() -> None:
        barrier.wait()
        try:
            mine = [limiter.hit("api-key", T0).allowed for _ in range(per_thread)]
        except Exception as exc:  # reported below, not lost in a thread
            errors.append(exc)
            return
        with lock:
            allowed.extend(mine)

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert not errors, f"expected every hammering thread to get decisions; one raised {errors[0]!r}"
    assert len(allowed) == threads * per_thread, "some hammering threads did not finish within 60 s"
    assert sum(allowed) == 60, (
        f"expected exactly 60 of {len(allowed)} simultaneous requests allowed; {sum(allowed)} "
        f"were. Reading the count and writing it back are two round trips: between them other "
        f"clients read the same count. Decide and update in one Lua script — see {LESSON}, "
        f"section 'Atomic in one round trip'.")


@pytest.mark.parametrize("kind", KINDS)
def test_keys_are_isolated(kind: str, redis_client: redis.Redis) -> None:
    limiter = make(kind, redis_client, size=3, period=60)
    for _ in range(5):
        limiter.hit("alice", T0)
    bob = limiter.hit("bob", T0)
    assert bob.allowed and bob.remaining == 2, (
        f"expected bob's first request allowed with 2 remaining after alice used up hers; "
        f"got {shows(bob)} — is the client key part of the Redis key?")
    assert not limiter.hit("alice", T0).allowed, "expected alice to stay limited"


@pytest.mark.parametrize("kind", KINDS)
def test_limiter_keys_expire(kind: str, redis_client: redis.Redis) -> None:
    limiter = make(kind, redis_client, size=3, period=60)
    for key in ("alice", "bob"):
        limiter.hit(key)
    keys = sorted(redis_client.keys())
    without_ttl = [k for k in keys if redis_client.pttl(k) < 0]
    assert keys and not without_ttl, (
        f"expected every limiter key to expire once it no longer matters; keys {keys}, "
        f"without TTL {without_ttl}. One key per client per window, never expired, is a leak.")


class CountingConnection(redis.Connection):
    """A real connection that counts the requests it writes to the socket."""

    sent = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sent += 1
        super().send_packed_command(command, check_health)


@pytest.fixture
def counting_client(redis_url: str) -> Iterator[tuple[redis.Redis, Callable[[], int]]]:
    class Counter(CountingConnection):
        sent = 0

    pool = redis.ConnectionPool.from_url(redis_url, connection_class=Counter, decode_responses=True)
    client = redis.Redis(connection_pool=pool)
    yield client, lambda: Counter.sent
    client.close()
    pool.disconnect()


@pytest.mark.parametrize("kind", KINDS)
def test_one_round_trip_per_decision(kind: str, counting_client: tuple[redis.Redis, Callable[[], int]]
                                     ) -> None:
    client, sent = counting_client
    limiter = make(kind, client, size=5, period=60)
    limiter.hit("warm-up", T0)  # connects and loads the script
    before = sent()
    for n in range(10):
        limiter.hit("user", T0 + n * 0.001)
    trips = sent() - before
    assert trips == 10, (
        f"expected 10 decisions to cost 10 round trips to Redis; they cost {trips}. Put the "
        f"read, the decision and the write in one Lua script (register_script → EVALSHA) — see "
        f"{LESSON}, section 'Atomic in one round trip'.")
