"""Lab: per-tenant ingest quotas — one bucket per tenant in Redis, shared by every API instance.

Two API processes run with a small quota (a burst of 10, one message a second) on the same
database and Redis, the way two replicas run behind a load balancer. Counts are bounded with the
refill the elapsed time allows, so a slow machine only loosens the bound, never fails a correct
service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from course import anchor
from course.processes import RunningProcess, stop_all

LESSON = "weeks/13-anchor-core/README.md"
BURST, RATE_PER_S = 10, 1.0
MESSAGE = {"eventType": "invoice.paid", "payload": {"invoice": "in_1"}}


@pytest.fixture(scope="module")
def limited_apis(anchor_database_url: str, anchor_redis_url: str,
                 make_api_env: Callable[..., dict[str, str]]) -> Iterator[list[RunningProcess]]:
    """Two API instances with the small quota, beside the session's API (used to sign up).

    They share the session API's JWT key, so a token it issued opens them too.
    """
    env = make_api_env(anchor_database_url, anchor_redis_url, ingest_rate_per_s=str(RATE_PER_S),
                       ingest_burst=str(BURST))
    processes = [anchor.start_role("api", env) for _ in range(2)]
    yield processes
    stop_all(processes)


def send(urls: list[str], token: str, app_id: str, count: int) -> tuple[list[httpx.Response], float]:
    """``count`` messages, round-robin over ``urls``; the responses and the seconds they took."""
    clients = [httpx.Client(base_url=url, timeout=30.0, headers={"Authorization": f"Bearer {token}"})
               for url in urls]
    started = time.monotonic()
    try:
        responses = [clients[n % len(clients)].post(f"/api/v1/app/{app_id}/msg", json=MESSAGE)
                     for n in range(count)]
    finally:
        for client in clients:
            client.close()
    return responses, time.monotonic() - started


def most_allowed(elapsed_s: float) -> int:
    """What a shared bucket can admit in ``elapsed_s``: the burst, the refill, one of slack."""
    return BURST + int(RATE_PER_S * elapsed_s) + 1


def accepted(responses: list[httpx.Response]) -> int:
    return sum(response.status_code == 202 for response in responses)


def test_a_tenant_over_its_quota_gets_429_with_retry_after(api: Any,
                                                           limited_apis: list[RunningProcess]) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    responses, elapsed = send([limited_apis[0].url], tenant.token, app_id, BURST + 5)
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {202, 429} and BURST <= accepted(responses) <= most_allowed(elapsed), (
        f"with a burst of {BURST} and {RATE_PER_S:g}/s, {BURST + 5} messages in {elapsed:.1f} s must see "
        f"between {BURST} and {most_allowed(elapsed)} accepted and the rest 429; got {statuses}. See "
        f"{LESSON}, section 'Quotas'")
    refused = next(response for response in responses if response.status_code == 429)
    retry_after = refused.headers.get("retry-after", "")
    assert retry_after.isdigit() and int(retry_after) >= 1, (
        f"a 429 must carry `Retry-After` in whole seconds, at least 1; got {retry_after!r}. See "
        f"{LESSON}, section 'Quotas'")
    assert refused.headers.get("ratelimit-remaining") == "0" and \
        refused.headers.get("ratelimit-limit") == str(BURST), (
            f"a 429 must say RateLimit-Limit: {BURST} and RateLimit-Remaining: 0; got "
            f"{refused.headers.get('ratelimit-limit')!r} and {refused.headers.get('ratelimit-remaining')!r}")
    remaining = [int(response.headers.get("ratelimit-remaining", "-1")) for response in responses[:3]]
    assert all(value >= 0 for value in remaining) and remaining == sorted(remaining, reverse=True) \
            and remaining[0] > remaining[-1], (
        f"every 202 must carry RateLimit-Remaining, counting down; the first three said {remaining}. "
        f"See {LESSON}, section 'Quotas'")
    time.sleep(int(retry_after) + 0.2)
    with tenant.client(base_url=limited_apis[0].url) as client:
        after = client.post(f"/api/v1/app/{app_id}/msg", json=MESSAGE)
    assert after.status_code == 202, (
        f"after waiting the {retry_after} s that Retry-After asked for, the next message must be "
        f"accepted; got {after.status_code}. A Retry-After that is too short makes clients hammer; "
        f"see {LESSON}, section 'Quotas'")


def test_every_api_instance_shares_one_quota(api: Any, limited_apis: list[RunningProcess]) -> None:
    tenant = api.signup()
    app_id = tenant.create_app()
    count = 3 * BURST
    responses, elapsed = send([process.url for process in limited_apis], tenant.token, app_id, count)
    assert accepted(responses) <= most_allowed(elapsed), (
        f"two API instances accepted {accepted(responses)} of {count} messages in {elapsed:.1f} s, but "
        f"the tenant's quota allows at most {most_allowed(elapsed)}: each instance kept its own bucket "
        "in memory, so N replicas give a tenant N quotas. Keep the bucket in Redis, where every "
        f"instance spends from the same one. See {LESSON}, section 'Quotas'")


def test_tenants_have_separate_quotas(api: Any, limited_apis: list[RunningProcess]) -> None:
    noisy, quiet = api.signup("Noisy"), api.signup("Quiet")
    noisy_app, quiet_app = noisy.create_app(), quiet.create_app()
    responses, _ = send([limited_apis[0].url], noisy.token, noisy_app, BURST + 3)
    assert any(response.status_code == 429 for response in responses), (
        f"{BURST + 3} messages at once never met the quota of {BURST}; see {LESSON}, section 'Quotas'")
    with quiet.client(base_url=limited_apis[0].url) as client:
        response = client.post(f"/api/v1/app/{quiet_app}/msg", json=MESSAGE)
    assert response.status_code == 202, (
        f"another tenant used up its quota, and this tenant's first message got {response.status_code}: "
        f"the bucket must be keyed by tenant, not shared by all. See {LESSON}, section 'Quotas'")
