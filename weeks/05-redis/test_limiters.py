"""Lab redis/rate-limits — fixed window, sliding-window log and token bucket.

Every limiter takes ``now`` (seconds) so window edges are tested exactly, without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from course.concurrently import run_together
from labs.week05_redis.decision import Decision
from labs.week05_redis.fixed_window import FixedWindowLimiter
from labs.week05_redis.sliding_window import SlidingWindowLimiter
from labs.week05_redis.token_bucket import TokenBucketLimiter

LESSON = "weeks/05-redis/README.md"
T0 = 1_000_000.0  # an injected clock far from the wall clock: only `now` may decide


def make(kind: str, client: redis.Redis, size: int, period: float) -> Any:
    """A limiter of ``kind`` that allows ``size`` requests per ``period`` seconds."""
    if kind == "fixed":
        return FixedWindowLimiter(client, limit=size, window_s=period)
    if kind == "sliding":
        return SlidingWindowLimiter(client, limit=size, window_s=period)
    return TokenBucketLimiter(client, capacity=size, refill_per_second=size / period)


KINDS = ["fixed", "sliding", "token_bucket"]


def shows(decision: Decision) -> str:
    return (f"allowed={decision.allowed} limit={decision.limit} remaining={decision.remaining} "
            f"retry_after_s={decision.retry_after_s} reset_after_s={decision.reset_after_s}")


def expect(decision: Decision, *, allowed: bool, remaining: int, retry_after_s: float,
           reset_after_s: float, at: str, limit: int | None = None) -> None:
    got = (decision.allowed, decision.remaining, decision.retry_after_s, decision.reset_after_s)
    want = (allowed, remaining, pytest.approx(retry_after_s, abs=1e-6),
            pytest.approx(reset_after_s, abs=1e-6))
    assert got == want, (
        f"{at}: expected allowed={allowed} remaining={remaining} retry_after_s={retry_after_s} "
        f"reset_after_s={reset_after_s}; got {shows(decision)}. See {LESSON}, section 'Rate limiting'.")
    if limit is not None:
        assert decision.limit == limit, f"{at}: expected Decision.limit={limit}; got {shows(decision)}"


def limiter_keys(client: redis.Redis) -> dict[str, int]:
    """Every key in the test's Redis database and its PTTL in milliseconds."""
    return {key: client.pttl(key) for key in client.scan_iter()}


def expect_ttl(client: redis.Redis, *, low_ms: int, high_ms: int, after: str) -> None:
    """The limiter left exactly one key, living for between ``low_ms`` and ``high_ms``."""
    keys = limiter_keys(client)
    assert keys, (
        f"after {after}, Redis holds no limiter key: it expired the moment it was written, so "
        f"the count never grows. A key's TTL is relative — PEXPIRE key <milliseconds>. PEXPIREAT "
        f"takes an absolute time on the *server's* clock; one computed from the injected `now` "
        f"(here 1970-01-12) is long past, and the key is deleted at once. See {LESSON}, section "
        f"'Rate limiting'.")
    assert all(low_ms <= ttl <= high_ms for ttl in keys.values()), (
        f"after {after}, expected the limiter key to expire in {low_ms}–{high_ms} ms; Redis holds "
        f"{keys} (key → PTTL ms; -1 = never). PX/PEXPIRE count milliseconds — seconds there are "
        f"a thousand times too short. See {LESSON}, section 'Rate limiting'.")


def what_redis_shows(client: redis.Redis, allowed: int) -> str:
    """Why a limiter let more through than its limit, as far as Redis's contents can tell."""
    keys = list(client.scan_iter())
    if not keys:
        return ("Redis holds no limiter key at all: each key expired the moment it was written, so "
                "every request found a fresh count. A TTL is relative (PEXPIRE); PEXPIREAT computed "
                "from the injected `now` (1970 here) is in the past. See "
                f"{LESSON}, section 'Rate limiting'.")
    logs = {key: client.zcard(key) for key in keys if client.type(key) == "zset"}
    if logs and sum(logs.values()) < allowed:
        return (f"The sorted set holds {sum(logs.values())} member(s) after {allowed} allowed "
                f"requests: requests in the same millisecond overwrote each other's entry. A "
                f"sorted set's members are unique — a member that is just the timestamp is not; "
                f"add something random to it. See {LESSON}, section 'Rate limiting'.")
    return ("Reading the count and writing it back are two round trips: between them other "
            "clients read the same count. Decide and update in one Lua script — see "
            f"{LESSON}, section 'Atomic in one round trip'.")


# --------------------------------------------------------------------------- exact edges


def test_fixed_window_edges(redis_client: redis.Redis) -> None:
    limiter = FixedWindowLimiter(redis_client, limit=3, window_s=10)
    # T0 is a multiple of 10 s: the window is [T0, T0 + 10).
    expect(limiter.hit("u", T0), allowed=True, remaining=2, retry_after_s=0, reset_after_s=10,
           at="1st hit", limit=3)
    expect_ttl(redis_client, low_ms=9_000, high_ms=10_000, after="the first hit of a 10 s window")
    expect(limiter.hit("u", T0 + 4), allowed=True, remaining=1, retry_after_s=0, reset_after_s=6, at="t+4")
    expect(limiter.hit("u", T0 + 9), allowed=True, remaining=0, retry_after_s=1, reset_after_s=1,
           at="3rd hit at t+9 (the last one)")
    expect(limiter.hit("u", T0 + 9.999), allowed=False, remaining=0, retry_after_s=0.001,
           reset_after_s=0.001, at="t+9.999, 1 ms before the window ends")
    expect(limiter.hit("u", T0 + 10), allowed=True, remaining=2, retry_after_s=0, reset_after_s=10,
           at="t+10, the first millisecond of the next window")


def test_sliding_window_edges(redis_client: redis.Redis) -> None:
    limiter = SlidingWindowLimiter(redis_client, limit=2, window_s=10)
    expect(limiter.hit("u", T0), allowed=True, remaining=1, retry_after_s=0, reset_after_s=10,
           at="t+0", limit=2)
    expect_ttl(redis_client, low_ms=9_000, high_ms=10_000, after="the first hit of a 10 s window")
    expect(limiter.hit("u", T0 + 5), allowed=True, remaining=0, retry_after_s=5, reset_after_s=10, at="t+5")
    expect(limiter.hit("u", T0 + 9.999), allowed=False, remaining=0, retry_after_s=0.001,
           reset_after_s=5.001, at="t+9.999: the t+0 request is still inside the window")
    expect(limiter.hit("u", T0 + 10), allowed=True, remaining=0, retry_after_s=5, reset_after_s=10,
           at="t+10: the t+0 request has just left the window (window is (now-10 s, now])")
    expect(limiter.hit("u", T0 + 14.999), allowed=False, remaining=0, retry_after_s=0.001,
           reset_after_s=5.001, at="t+14.999: t+5 and t+10 are both still inside")
    expect(limiter.hit("u", T0 + 15), allowed=True, remaining=0, retry_after_s=5, reset_after_s=10,
           at="t+15: t+5 has left")


def test_sliding_window_has_no_boundary_burst(redis_client: redis.Redis) -> None:
    limiter = SlidingWindowLimiter(redis_client, limit=2, window_s=10)
    times = [T0 + 9, T0 + 9.5, T0 + 10, T0 + 10.5]  # straddles what a fixed window calls a boundary
    allowed = [limiter.hit("u", t).allowed for t in times]
    assert allowed == [True, True, False, False], (
        f"expected at most 2 requests in any 10 s; the hits at t+9, t+9.5, t+10, t+10.5 got "
        f"{allowed}. A fixed window resets at t+10 and lets 4 through in 1.5 s — the sliding "
        f"window must count the previous requests too. See {LESSON}, section 'Rate limiting'.")


def test_token_bucket_edges(redis_client: redis.Redis) -> None:
    limiter = TokenBucketLimiter(redis_client, capacity=3, refill_per_second=1)
    expect(limiter.hit("u", T0), allowed=True, remaining=2, retry_after_s=0, reset_after_s=1,
           at="1st", limit=3)
    # Full again in 1 s; a full refill from empty takes 3 s: anything in between is right.
    expect_ttl(redis_client, low_ms=900, high_ms=3_000, after="the first token of a 3-token bucket")
    expect(limiter.hit("u", T0), allowed=True, remaining=1, retry_after_s=0, reset_after_s=2, at="2nd")
    expect(limiter.hit("u", T0), allowed=True, remaining=0, retry_after_s=1, reset_after_s=3,
           at="3rd: the burst is spent")
    expect(limiter.hit("u", T0 + 0.999), allowed=False, remaining=0, retry_after_s=0.001,
           reset_after_s=2.001, at="t+0.999: 0.999 of a token refilled, not enough")
    expect(limiter.hit("u", T0 + 1), allowed=True, remaining=0, retry_after_s=1, reset_after_s=3,
           at="t+1: exactly one token refilled")
    expect(limiter.hit("u", T0 + 3.5), allowed=True, remaining=1, retry_after_s=0, reset_after_s=1.5,
           at="t+3.5: 2.5 tokens refilled, one taken")
    expect(limiter.hit("u", T0 + 100), allowed=True, remaining=2, retry_after_s=0, reset_after_s=1,
           at="t+100: refill stops at capacity (3), one taken")


# --------------------------------------------------------------------------- under load


@pytest.mark.parametrize("kind", KINDS)
def test_never_over_the_limit_under_hammering(kind: str, redis_client: redis.Redis) -> None:
    limiter = make(kind, redis_client, size=60, period=3600)
    threads, per_thread = 16, 25

    results = run_together(lambda _: [limiter.hit("api-key", T0).allowed for _ in range(per_thread)],
                           threads, timeout_s=60)

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, f"expected every hammering thread to get decisions; one raised {errors[0]!r}"
    allowed = [a for r in results if isinstance(r, list) for a in r]
    assert sum(allowed) == 60, (
        f"expected exactly 60 of {len(allowed)} simultaneous requests (all at one instant) "
        f"allowed; {sum(allowed)} were. " + what_redis_shows(redis_client, sum(allowed)))


def test_sliding_window_counts_every_request_in_one_millisecond(redis_client: redis.Redis) -> None:
    limiter = SlidingWindowLimiter(redis_client, limit=3, window_s=10)
    allowed = [limiter.hit("u", T0).allowed for _ in range(5)]  # five requests, one millisecond
    members = sum(redis_client.zcard(k) for k in redis_client.scan_iter()
                  if redis_client.type(k) == "zset")
    assert allowed == [True, True, True, False, False], (
        f"expected 3 of 5 requests in the same millisecond allowed; got {allowed}, and the log "
        f"holds {members} member(s). A sorted set's members are unique: with the timestamp as "
        f"the member, a second request in the same millisecond overwrites the first instead of "
        f"adding to the count. Make each member unique (the time plus a random suffix) — see "
        f"{LESSON}, section 'Rate limiting'.")


@pytest.mark.parametrize(("limiter", "arguments"), [
    (FixedWindowLimiter, {"limit": 0, "window_s": 10}),
    (FixedWindowLimiter, {"limit": 3, "window_s": 0}),
    (FixedWindowLimiter, {"limit": 3, "window_s": 0.0001}),
    (SlidingWindowLimiter, {"limit": 0, "window_s": 10}),
    (SlidingWindowLimiter, {"limit": -1, "window_s": 10}),
    (SlidingWindowLimiter, {"limit": 3, "window_s": 0}),
    (TokenBucketLimiter, {"capacity": 0, "refill_per_second": 1}),
    (TokenBucketLimiter, {"capacity": 3, "refill_per_second": 0}),
    (TokenBucketLimiter, {"capacity": 3, "refill_per_second": -1}),
], ids=["fixed-limit-0", "fixed-window-0", "fixed-window-under-1ms", "sliding-limit-0",
        "sliding-limit-negative", "sliding-window-0", "bucket-capacity-0", "bucket-rate-0",
        "bucket-rate-negative"])
def test_limiter_arguments_are_checked(limiter: type, arguments: dict[str, float],
                                       redis_client: redis.Redis) -> None:
    try:
        limiter(redis_client, **arguments)
    except ValueError:
        return
    pytest.fail(f"expected ValueError from {limiter.__name__}({arguments}); it was built. A limit "
                f"below 1 refuses everyone for ever, and a window under 1 ms (or a rate of 0) "
                f"divides by zero inside the script. Check the arguments in __init__ — see "
                f"{LESSON}, section 'Rate limiting'.", pytrace=False)


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
    keys = limiter_keys(redis_client)
    without_ttl = [k for k, ttl in keys.items() if ttl < 0]
    assert keys and not without_ttl, (
        f"expected every limiter key to expire once it no longer matters; keys {sorted(keys)}, "
        f"without TTL {without_ttl}. One key per client per window, never expired, is a leak.")
    # A 60 s window, or a 3-token bucket refilled in 60 s: nothing needs to live longer.
    too_long = {k: ttl for k, ttl in keys.items() if ttl > 60_000}
    assert not too_long, (
        f"expected no limiter key to outlive its 60 s window (or the bucket's full refill); "
        f"got {too_long} (PTTL ms). See {LESSON}, section 'Rate limiting'.")


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
