"""Lab fastapi/rate-limit — GET /public/status, limited per client, in this process's memory.

Headers: ``RateLimit-Policy`` / ``RateLimit`` from draft-ietf-httpapi-ratelimit-headers-10
(``"name";q=<quota>;w=<window s>`` and ``"name";r=<remaining>;t=<seconds until quota frees>``)
plus ``Retry-After`` on the 429.
"""

from __future__ import annotations

import re
import time
import warnings

import pytest

LESSON = "weeks/02-fastapi/README.md, section 'Rate limiting'"


def param(header: str | None, name: str) -> int | None:
    match = re.search(rf";\s*{name}=(\d+)", header or "")
    return int(match.group(1)) if match else None


@pytest.fixture
def settings(make_settings):
    return make_settings(public_rate_limit=3, public_rate_window_s=60)


def other_client(app, host: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

        return TestClient(app, client=(host, 50000))


def test_the_request_after_the_quota_is_429_with_retry_after(client) -> None:
    statuses = [client.get("/public/status").status_code for _ in range(3)]
    assert statuses == [200, 200, 200], f"expected the first 3 requests (the quota) to pass; got {statuses}"
    limited = client.get("/public/status")
    assert limited.status_code == 429, (
        f"expected the 4th request inside the window to be 429 Too Many Requests; got "
        f"{limited.status_code}; look at {LESSON}")
    retry_after = limited.headers.get("retry-after", "")
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60, (
        f"expected Retry-After in whole seconds, between 1 and the 60 s window; got {retry_after!r}")
    assert param(limited.headers.get("ratelimit"), "r") == 0, (
        f"expected `RateLimit: \"…\";r=0;t=…` on the 429; got {limited.headers.get('ratelimit')!r}")


def test_every_response_advertises_the_policy_and_what_is_left(client) -> None:
    remaining = []
    for _ in range(3):
        response = client.get("/public/status")
        policy = response.headers.get("ratelimit-policy")
        assert param(policy, "q") == 3 and param(policy, "w") == 60, (
            f"expected `RateLimit-Policy: \"<name>\";q=3;w=60`; got {policy!r}; look at {LESSON}")
        current = response.headers.get("ratelimit")
        assert param(current, "t") is not None, f"expected a t=<seconds> parameter; got {current!r}"
        remaining.append(param(current, "r"))
    assert remaining == [2, 1, 0], f"expected RateLimit r= to count down 2, 1, 0; got {remaining}"


def test_clients_are_limited_separately(app, client) -> None:
    for _ in range(4):
        client.get("/public/status")
    assert client.get("/public/status").status_code == 429, "the first client should be limited by now"
    with other_client(app, "203.0.113.9") as neighbour:
        response = neighbour.get("/public/status")
    assert response.status_code == 200, (
        f"a client at another address got {response.status_code} because someone else used up the "
        f"quota: the limit must be kept per client (key it on request.client.host); {LESSON}")


def test_quota_frees_up_after_the_window(app, make_settings) -> None:
    from labs.week02_fastapi.settings import get_settings

    short = make_settings(public_rate_limit=2, public_rate_window_s=1)
    app.dependency_overrides[get_settings] = lambda: short
    with other_client(app, "198.51.100.7") as client:
        for _ in range(2):
            client.get("/public/status")
        limited = client.get("/public/status")
        assert limited.status_code == 429, f"expected 429 after 2 requests; got {limited.status_code}"
        wait = int(limited.headers.get("retry-after", "1"))
        time.sleep(wait + 0.2)
        again = client.get("/public/status")
    assert again.status_code == 200, (
        f"after waiting the advertised Retry-After ({wait} s) the client is still refused "
        f"({again.status_code}); old requests must leave the window; {LESSON}")


class FakeClock:
    """The limiter's clock, moved by the test: windows of 60 s checked in no time at all."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app) -> FakeClock:
    from labs.week02_fastapi.ratelimit import SlidingWindowLimiter

    fake = FakeClock()
    app.state.rate_limiter = SlidingWindowLimiter(clock=fake)
    return fake


def test_retry_after_counts_down_from_the_oldest_request(client, clock: FakeClock) -> None:
    first = client.get("/public/status")
    assert param(first.headers.get("ratelimit"), "t") == 60, (
        f"expected t=60 after one request in a 60 s window (its quota frees when it leaves the "
        f"window); got {first.headers.get('ratelimit')!r}; look at {LESSON}")
    clock.now += 20
    client.get("/public/status")
    client.get("/public/status")
    clock.now += 10  # 30 s after the first request: it leaves the window in 30 s
    limited = client.get("/public/status")
    assert limited.status_code == 429, f"expected the 4th request to be 429; got {limited.status_code}"
    assert limited.headers.get("retry-after") == "30", (
        f"expected Retry-After: 30 — the oldest counted request leaves the 60 s window 30 s from "
        f"now; got {limited.headers.get('retry-after')!r}. A client told to wait the whole window "
        f"waits twice as long as it must; look at {LESSON}")
    assert param(limited.headers.get("ratelimit"), "t") == 30, (
        f"expected `RateLimit: …;r=0;t=30`; got {limited.headers.get('ratelimit')!r}")


def test_a_request_leaves_the_window_exactly_window_s_later(client, clock: FakeClock) -> None:
    for _ in range(3):
        client.get("/public/status")
    clock.now += 59.5
    assert client.get("/public/status").status_code == 429, "expected 429 half a second before"
    clock.now += 0.5
    response = client.get("/public/status")
    assert response.status_code == 200, (
        f"expected requests made exactly window_s = 60 s ago to no longer count (the window is the "
        f"last 60 s, not 60 s and a bit); got {response.status_code}; look at {LESSON}")


def test_refused_requests_do_not_use_up_the_quota(client, clock: FakeClock) -> None:
    for _ in range(3):
        client.get("/public/status")
    clock.now += 30
    refused = [client.get("/public/status").status_code for _ in range(3)]
    assert refused == [429, 429, 429], f"expected 429 while over the quota; got {refused}"
    clock.now += 30
    response = client.get("/public/status")
    assert response.status_code == 200, (
        f"expected a request to pass once the 3 allowed ones left the window; got "
        f"{response.status_code}. Counting refused requests too locks out a client that retries "
        f"while limited — forever, if it retries often enough; look at {LESSON}")
