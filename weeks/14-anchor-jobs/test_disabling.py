"""Lab anchor-jobs/retries (disabling): when to stop trying an endpoint, and telling its tenant.

A 410 says the URL is gone for good: stop at once. An endpoint that has failed without a single
success for longer than ``disable_after_s`` is disabled too — by time, not by a count, as Svix
does. Each decision reaches the tenant as an operational event (a message in its operational
application), and so does a delivery that ran out of attempts.

This module's stack runs on compressed time (``retry_time_scale`` 0.0001, as the anchor's own
drills do): two attempts 0.1 s apart, and an endpoint disabled after 1.5 s of failures.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from anchor_jobs_rig import Endpoint, Rig, Tenant, wait_until

LESSON = "weeks/14-anchor-jobs/README.md"
SCALE = 0.0001
DISABLE_AFTER_S = 1.5
SETTINGS: dict[str, object] = {"retry_schedule_s": "0,1000", "retry_time_scale": SCALE,
                               "disable_after_s": DISABLE_AFTER_S / SCALE, "scheduler_interval_s": 0.05,
                               "http_timeout_s": 1, "claim_timeout_s": 6}


@pytest.fixture(scope="module")
def rig(make_rig: Rig) -> Rig:
    make_rig.start_together(("relay", SETTINGS), ("worker", SETTINGS), ("scheduler", SETTINGS))
    return make_rig


def _events(rig: Rig, tenant: Tenant, event_type: str) -> list[dict[str, Any]]:
    """The payloads of one type of operational event (Svix wraps them as ``{type, data}``)."""
    return [row["payload"].get("data", row["payload"]) for row in rig.operational_events(tenant)
            if row["event_type"] == event_type]


def _disabled(rig: Rig, endpoint: Endpoint) -> bool:
    return bool(rig.endpoint_row(endpoint)["disabled"])


def test_a_410_disables_the_endpoint_at_once(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "gone")
    rig.receiver.behave(endpoint.name, status=410)
    rig.send(tenant)
    wait_until(lambda: _disabled(rig, endpoint), 10)
    row = rig.endpoint_row(endpoint)
    attempts = len(rig.attempts(endpoint))
    assert row["disabled"] and row["disabled_reason"] == "gone", (
        f"expected a 410 Gone to disable the endpoint with reason 'gone'; it is disabled={row['disabled']}, "
        f"reason={row['disabled_reason']!r} after {attempts} attempts. Look at {LESSON}, section "
        "'Disabling endpoints'.")
    assert attempts == 1, (
        f"expected exactly one attempt — a 410 is not retried; got {attempts}. Look at {LESSON}, section "
        "'Disabling endpoints'.")
    events = _events(rig, tenant, "endpoint.disabled")
    assert [(e.get("endpointId"), e.get("reason")) for e in events] == [(endpoint.id, "gone")], (
        f"expected one operational event endpoint.disabled {{endpointId, reason: 'gone'}} for the tenant; "
        f"got {events}. Look at {LESSON}, section 'Operational events'.")
    rig.send(tenant)
    wait_until(lambda: len(rig.deliveries(endpoint)) == 2, 10)
    statuses = sorted(row["status"] for row in rig.deliveries(endpoint))
    assert statuses == ["failed", "skipped"], (
        f"expected the next message kept as a skipped delivery, not sent; got {statuses}. Look at {LESSON}, "
        "section 'Disabling endpoints'.")


def test_an_endpoint_failing_for_longer_than_the_limit_is_disabled(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "failing")
    rig.receiver.behave(endpoint.name, status=500)
    started = time.monotonic()
    while not _disabled(rig, endpoint) and time.monotonic() - started < 4 * DISABLE_AFTER_S + 3:
        rig.send(tenant)
        time.sleep(0.25)
    row = rig.endpoint_row(endpoint)
    attempts = rig.attempts(endpoint)
    assert row["disabled"] and row["disabled_reason"] == "failing", (
        f"expected an endpoint failing for longer than disable_after_s ({DISABLE_AFTER_S} s) disabled with "
        f"reason 'failing'; it is disabled={row['disabled']}, reason={row['disabled_reason']!r} after "
        f"{len(attempts)} failed attempts. Look at {LESSON}, section 'Disabling endpoints'.")
    failing_for_s = (attempts[-1]["created_at"] - attempts[0]["created_at"]).total_seconds()
    assert failing_for_s >= DISABLE_AFTER_S - 0.05, (
        f"expected the endpoint disabled only once it had failed for {DISABLE_AFTER_S} s; it was disabled "
        f"after {failing_for_s:.2f} s of failures ({len(attempts)} attempts). The rule is time since the "
        f"first failure, not a count. Look at {LESSON}, section 'Disabling endpoints'.")
    events = _events(rig, tenant, "endpoint.disabled")
    assert [(e.get("endpointId"), e.get("reason")) for e in events] == [(endpoint.id, "failing")], (
        f"expected one endpoint.disabled event with reason 'failing'; got {events}. Look at {LESSON}, "
        "section 'Operational events'.")


def test_a_success_after_failures_clears_the_clock_and_says_recovered(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "recovers")
    rig.receiver.behave(endpoint.name, status=503, delay_s=0.2)  # the next try, 0.1 s later, fails too
    rig.send(tenant)
    wait_until(lambda: rig.endpoint_row(endpoint)["failing_since"] is not None, 10)
    assert rig.endpoint_row(endpoint)["failing_since"] is not None, (
        f"expected failing_since set by the first failed attempt; it is still NULL. Look at {LESSON}, "
        "section 'Disabling endpoints'.")
    rig.receiver.behave(endpoint.name, status=200)
    rig.send(tenant)
    wait_until(lambda: any(r["status"] == "succeeded" for r in rig.deliveries(endpoint)), 10)
    wait_until(lambda: rig.endpoint_row(endpoint)["failing_since"] is None, 5)
    assert rig.endpoint_row(endpoint)["failing_since"] is None, (
        f"expected a success to clear failing_since (the time rule counts failures since the last "
        f"success); it is {rig.endpoint_row(endpoint)['failing_since']}. Look at {LESSON}, section "
        "'Disabling endpoints'.")
    events = _events(rig, tenant, "endpoint.recovered")
    assert [e.get("endpointId") for e in events] == [endpoint.id], (
        f"expected one endpoint.recovered event for the endpoint; got {events}. Look at {LESSON}, section "
        "'Operational events'.")


def test_a_delivery_out_of_attempts_fails_and_the_tenant_is_told(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "exhausted")
    rig.receiver.behave(endpoint.name, status=500)
    [msg_id] = rig.send(tenant)
    wait_until(lambda: [r["status"] for r in rig.deliveries(endpoint)] == ["failed"], 10)
    deliveries = rig.deliveries(endpoint)
    attempts = rig.attempts(endpoint)
    assert [r["status"] for r in deliveries] == ["failed"] and len(attempts) == 2, (
        f"expected the delivery failed after the schedule's two attempts; got {deliveries[0]['status']!r} "
        f"after {len(attempts)} attempts. Look at {LESSON}, section 'Retry schedule and jitter'.")
    events = _events(rig, tenant, "message.attempt.exhausted")
    assert [(e.get("msgId"), e.get("endpointId")) for e in events] == [(msg_id, endpoint.id)], (
        f"expected one message.attempt.exhausted event naming the message and endpoint; got {events}. "
        f"Look at {LESSON}, section 'Operational events'.")
