"""Delivery end to end: outbox → relay → stream → worker → a real loopback receiver → the attempt log.

One stack for the module (relay, worker, scheduler as processes) with Svix's schedule compressed a
thousandfold — 0, 5 ms, 0.3 s, 1.8 s — and the disable rule's five days scaled to 1.5 s. Every
test uses its own tenant, application and receiver path, so they cannot see each other's events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import standardwebhooks
import svix.webhooks

from .conftest import Stack, free_port, make_stack, stack_fixture
from .receiver import Receiver

SETTINGS = {
    "retry_time_scale": "0.001", "retry_schedule_s": "0,5,300,1800", "disable_after_s": "1500",
    "http_timeout_s": "1", "claim_timeout_s": "6", "scheduler_interval_s": "0.05",
    "ssrf_allow_cidrs": "127.0.0.1/32",
}
SCALED_SCHEDULE_S = (0.0, 0.005, 0.3, 1.8)


@pytest.fixture(scope="module")
def stack(log_dir: Path) -> Iterator[Stack]:
    started = make_stack("delivery", log_dir, **SETTINGS)
    started.start("relay")
    for role in ("worker", "scheduler"):
        started.start(role, metrics_port=str(free_port()))
    yield from stack_fixture(started)


def _metrics(stack: Stack, role: str) -> dict[str, float]:
    """The role's /metrics as ``{'name{labels}': value}``."""
    port = stack.metrics_ports[role]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def _verify_with_both_libraries(secret: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        standardwebhooks.Webhook(secret).verify(body, headers)
    except Exception as exc:  # the library's own error type says why
        pytest.fail(f"expected the standardwebhooks library to verify the request; it raised {exc!r} "
                    f"for headers {headers}", pytrace=False)
    try:
        svix.webhooks.Webhook(secret).verify(body, headers)
    except Exception as exc:
        pytest.fail(f"expected the svix library to verify the request; it raised {exc!r}", pytrace=False)


def test_a_message_arrives_signed_and_both_official_libraries_verify_it(
        stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    endpoint_id, secret = stack.endpoint(tenant, app, receiver.url("/signed"))
    msg_id = stack.send(tenant, app, {"invoice": "in_1", "amount": 4200})

    got = receiver.wait_for("/signed", 1)
    assert len(got) == 1, f"expected one request at the receiver; got {len(got)}.\n{stack.logs()}"
    request = got[0]
    assert request.headers.get("webhook-id") == msg_id, (
        f"expected webhook-id to be the message id {msg_id}; got {request.headers.get('webhook-id')}")
    assert json.loads(request.body) == {"invoice": "in_1", "amount": 4200}, (
        f"expected the payload as sent; got {request.body[:200]!r}")
    assert request.headers.get("content-type") == "application/json"
    _verify_with_both_libraries(secret, request.body, request.headers)
    status = stack.wait("SELECT status FROM deliveries WHERE endpoint_id = %s", (endpoint_id,), "succeeded")
    assert status == "succeeded", f"expected the delivery recorded succeeded; got {status}"
    attempts = stack.attempts(endpoint_id)
    assert [(a[0], a[1], a[2]) for a in attempts] == [("succeeded", 200, None)], (
        f"expected one successful attempt with status 200 in the log; got {attempts}")


def test_during_a_rotation_both_secrets_sign_and_either_verifies(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    endpoint_id, old_secret = stack.endpoint(tenant, app, receiver.url("/rotated"))
    new_secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo3ODkwMTI="
    stack.sql("UPDATE endpoint_secrets SET expires_at = now() + interval '1 hour' WHERE endpoint_id = %s",
              (endpoint_id,))
    stack.sql("INSERT INTO endpoint_secrets (endpoint_id, secret) VALUES (%s, %s)", (endpoint_id, new_secret))
    time.sleep(1.2)  # the worker re-reads an endpoint's secrets at most once a second
    stack.send(tenant, app, {"rotated": True})

    got = receiver.wait_for("/rotated", 1)
    assert got, f"expected a request at the receiver; got none.\n{stack.logs()}"
    signatures = got[0].headers["webhook-signature"].split()
    assert len(signatures) == 2, (
        f"expected two signatures during the grace period (new and old secret); got {signatures}")
    for secret in (old_secret, new_secret):
        _verify_with_both_libraries(secret, got[0].body, got[0].headers)


def test_failures_are_retried_on_the_schedule_with_the_same_webhook_id(
        stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    endpoint_id, _ = stack.endpoint(tenant, app, receiver.url("/flaky"))
    receiver.behave("/flaky", script=[500, 500], status=200)
    msg_id = stack.send(tenant, app, {"n": 1})

    got = receiver.wait_for("/flaky", 3)
    assert [r.answered for r in got] == [500, 500, 200], (
        f"expected 500, 500, then a retry answered 200; got {[r.answered for r in got]}.\n{stack.logs()}")
    assert {r.headers["webhook-id"] for r in got} == {msg_id}, "every attempt must carry the same webhook-id"
    gap_s = got[2].at - got[1].at
    assert gap_s >= SCALED_SCHEDULE_S[2] * 0.8, (
        f"expected the third attempt at least 0.8 × {SCALED_SCHEDULE_S[2]}s after the second (the "
        f"schedule with -20 % jitter); got {gap_s:.3f}s")
    status = stack.wait("SELECT status FROM deliveries WHERE endpoint_id = %s", (endpoint_id,), "succeeded")
    assert status == "succeeded"
    classes = [a[2] for a in stack.attempts(endpoint_id)]
    assert classes == ["http", "http", None], f"expected attempts classed http, http, success; got {classes}"


def test_retry_after_is_a_floor(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    stack.endpoint(tenant, app, receiver.url("/busy"))
    receiver.behave("/busy", script=[503], status=200, retry_after="1")
    stack.send(tenant, app, {"n": 1})

    got = receiver.wait_for("/busy", 2)
    assert len(got) == 2, f"expected the 503 retried once; got {len(got)} requests.\n{stack.logs()}"
    gap_s = got[1].at - got[0].at
    assert gap_s >= 0.95, (f"expected the retry no sooner than Retry-After: 1 asked (the schedule said "
                           f"{SCALED_SCHEDULE_S[1]}s); it came after {gap_s:.3f}s")


def _second_delay_s(stack: Stack, endpoint_id: str) -> float:
    """The delay the worker chose after the second failure: ``next_attempt_at - updated_at``,
    both written by the one statement that recorded the failure (no clock of ours involved)."""
    query = ("SELECT extract(epoch FROM next_attempt_at - updated_at) FROM deliveries WHERE endpoint_id = %s "
             "AND attempts = 2 AND status = 'pending' AND lease_until IS NULL")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = stack.sql(query, (endpoint_id,))
        if rows:
            return float(rows[0][0])
        time.sleep(0.02)
    pytest.fail("expected the delivery to wait for its third attempt; attempts: "
                f"{stack.attempts(endpoint_id)}", pytrace=False)


def test_429_and_timeouts_back_off_twice_as_long(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    receiver.behave("/slow-down", script=[429, 429], status=200)
    receiver.behave("/server-error", script=[500, 500], status=200)
    receiver.behave("/hangs", delay_s=1.5)  # longer than http_timeout_s
    endpoints = {path: stack.endpoint(tenant, app, receiver.url(path))[0]
                 for path in ("/slow-down", "/server-error", "/hangs")}
    stack.send(tenant, app, {"n": 1})

    delays = {path: _second_delay_s(stack, endpoint_id) for path, endpoint_id in endpoints.items()}
    nominal_s = SCALED_SCHEDULE_S[2]
    assert delays["/server-error"] <= nominal_s * 1.2 + 1e-3, (
        f"expected a 500 retried on the schedule ({nominal_s}s ±20 %); got {delays['/server-error']:.3f}s")
    for path, what in (("/slow-down", "a 429"), ("/hangs", "a timeout")):
        assert delays[path] >= nominal_s * 2 * 0.8 - 1e-3, (
            f"expected {what} without Retry-After to wait twice the scheduled {nominal_s}s (±20 %); got "
            f"{delays[path]:.3f}s")
    first = stack.attempts(endpoints["/hangs"])[0]
    assert first[2] == "timeout", f"expected the hanging receiver's attempt classed timeout; got {first}"


def _operational_events(receiver: Receiver, path: str, event_type: str,
                        count: int = 1) -> list[dict[str, object]]:
    got = receiver.wait_for(path, count, check=lambda rs: sum(
        json.loads(r.body).get("type") == event_type for r in rs) >= count)
    return [json.loads(r.body) for r in got if json.loads(r.body).get("type") == event_type]


def test_410_disables_the_endpoint_at_once_and_tells_the_tenant(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    stack.endpoint(tenant, tenant.operational_app, receiver.url("/ops-410"))
    endpoint_id, _ = stack.endpoint(tenant, app, receiver.url("/gone"))
    receiver.behave("/gone", status=410)
    stack.send(tenant, app, {"n": 1})

    disabled = stack.wait("SELECT disabled_reason FROM endpoints WHERE id = %s", (endpoint_id,), "gone")
    assert disabled == "gone", f"expected a 410 to disable the endpoint with reason 'gone'; got {disabled}"
    assert len(receiver.received("/gone")) == 1, "expected no retry after a 410"
    events = _operational_events(receiver, "/ops-410", "endpoint.disabled")
    assert events and events[0]["data"] == {"appId": app, "endpointId": endpoint_id, "reason": "gone",
                                            "failSince": events[0]["data"]["failSince"]}, (  # type: ignore[index]
        f"expected an endpoint.disabled event naming the endpoint and reason 'gone'; got {events}")


def test_sustained_failure_disables_exhausts_and_the_messages_are_kept(
        stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    stack.endpoint(tenant, tenant.operational_app, receiver.url("/ops-failing"))
    endpoint_id, _ = stack.endpoint(tenant, app, receiver.url("/down"))
    receiver.behave("/down", status=500)
    stack.send(tenant, app, {"n": 1})

    reason = stack.wait("SELECT disabled_reason FROM endpoints WHERE id = %s", (endpoint_id,), "failing")
    assert reason == "failing", (
        f"expected the endpoint disabled (reason 'failing') once it had failed for the scaled 1.5 s; got "
        f"{reason}; attempts: {stack.attempts(endpoint_id)}")
    assert _operational_events(receiver, "/ops-failing", "endpoint.disabled"), "expected endpoint.disabled"
    exhausted = _operational_events(receiver, "/ops-failing", "message.attempt.exhausted")
    assert exhausted and exhausted[0]["data"]["endpointId"] == endpoint_id, (  # type: ignore[index]
        f"expected message.attempt.exhausted for the endpoint after the last attempt; got {exhausted}")

    # While disabled, new messages are kept (skipped), not attempted...
    receiver.behave("/down", status=200)
    kept = stack.send(tenant, app, {"n": 2})
    status = stack.wait("SELECT status FROM deliveries WHERE message_id = %s", (kept,), "skipped")
    assert status == "skipped", f"expected a message sent while disabled kept as 'skipped'; got {status}"
    before = len(receiver.received("/down"))
    # ...and once the endpoint is enabled again, recovering them delivers them.
    stack.sql("UPDATE endpoints SET disabled = false, disabled_reason = NULL WHERE id = %s", (endpoint_id,))
    stack.sql("UPDATE deliveries SET status = 'pending', next_attempt_at = now(), enqueued_at = NULL, "
              "attempts = 0 WHERE endpoint_id = %s AND status IN ('failed', 'skipped')", (endpoint_id,))
    got = receiver.wait_for("/down", before + 2)
    assert len(got) - before == 2, (
        f"expected both kept messages delivered after recovery; got {len(got) - before}")
    recovered = _operational_events(receiver, "/ops-failing", "endpoint.recovered")
    assert recovered, "expected endpoint.recovered once the endpoint answered 2xx again"


def test_rate_limit_is_enforced_by_the_worker(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    stack.endpoint(tenant, app, receiver.url("/limited"), rate_limit=5)
    for n in range(15):
        stack.send(tenant, app, {"n": n})

    got = receiver.wait_for("/limited", 15, timeout_s=30)
    assert len(got) == 15, f"expected all 15 delivered in the end; got {len(got)}.\n{stack.logs()}"
    first = got[0].at
    in_first_second = sum(r.at - first < 1.0 for r in got)
    assert in_first_second <= 10, (
        f"expected at most 10 requests in the first second (a bucket of 5 refilled at 5/s); got "
        f"{in_first_second}")
    assert got[-1].at - first >= 1.5, (
        f"expected 15 requests at 5/s to take at least 1.5 s; they took {got[-1].at - first:.2f}s")


def test_concurrency_cap_is_enforced(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    stack.endpoint(tenant, app, receiver.url("/capped"), max_concurrency=2)
    receiver.behave("/capped", delay_s=0.2)
    for n in range(8):
        stack.send(tenant, app, {"n": n})

    got = receiver.wait_for("/capped", 8, timeout_s=30)
    assert len(got) == 8, f"expected all 8 delivered; got {len(got)}.\n{stack.logs()}"
    assert receiver.max_in_flight["/capped"] <= 2, (
        f"expected at most 2 requests in flight at once (max_concurrency=2); saw "
        f"{receiver.max_in_flight['/capped']}")


def test_an_ordered_endpoint_gets_messages_in_order_even_under_retries(
        stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    stack.endpoint(tenant, app, receiver.url("/fifo"), ordered=True)
    receiver.behave("/fifo", script=[500, 500], status=200)
    sent = [stack.send(tenant, app, {"n": n}) for n in range(5)]

    got = receiver.wait_for("/fifo", 7, timeout_s=30)
    ids = [r.headers["webhook-id"] for r in got]
    assert ids[:3] == [sent[0]] * 3, f"expected the first message tried until it succeeded; got {ids}"
    successes = [r.headers["webhook-id"] for r in got if r.answered == 200]
    assert successes == sent, (
        f"expected the messages delivered in the order sent {sent}; got {successes} — a later message "
        "overtook an earlier one that was waiting for its retry")


def test_the_attempt_log_classifies_each_failure(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    receiver.behave("/broken", status=500)
    receiver.behave("/never-answers", delay_s=2.0)
    urls = {
        "connect": "http://127.0.0.1:9/refused",  # discard port: nothing listens
        "timeout": receiver.url("/never-answers"),
        "http": receiver.url("/broken"),
        "dns": "http://no-such-host.invalid/hook",
        "ssrf": "http://169.254.169.254/latest/meta-data/",
    }
    endpoints = {expected: stack.endpoint(tenant, app, url)[0] for expected, url in urls.items()}
    stack.send(tenant, app, {"n": 1})
    for expected, endpoint_id in endpoints.items():
        stack.wait("SELECT count(*) > 0 FROM attempts WHERE endpoint_id = %s", (endpoint_id,), True)
        attempts = stack.attempts(endpoint_id)
        assert attempts, f"expected an attempt to the {expected} endpoint; got none.\n{stack.logs()}"
        assert attempts[0][2] == expected, (
            f"expected the attempt to {urls[expected]} classed {expected!r}; got {attempts[0][2]!r} "
            f"({attempts[0][3]})")


def test_redirects_are_never_followed(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    with Receiver(host="127.0.0.2") as internal:
        receiver.behave("/to-metadata", status=302, location="http://169.254.169.254/latest/meta-data/")
        receiver.behave("/to-internal", status=302, location=internal.url("/admin"))
        ep_metadata, _ = stack.endpoint(tenant, app, receiver.url("/to-metadata"))
        ep_internal, _ = stack.endpoint(tenant, app, receiver.url("/to-internal"))
        stack.send(tenant, app, {"n": 1})
        for endpoint_id in (ep_metadata, ep_internal):
            stack.wait("SELECT count(*) > 0 FROM attempts WHERE endpoint_id = %s", (endpoint_id,), True)
            attempts = stack.attempts(endpoint_id)
            assert attempts and attempts[0][1] == 302 and attempts[0][2] == "http", (
                f"expected the 302 recorded as a failed HTTP attempt, not followed; got {attempts}")
            assert "not followed" in (attempts[0][3] or ""), (
                f"expected the detail to say so; got {attempts[0][3]}")
        time.sleep(0.3)
        assert internal.received("/admin") == [], (
            "expected the redirect to 127.0.0.2 (not allow-listed) never followed; the internal "
            "service was called")


def test_settings_refuse_a_claim_timeout_that_does_not_outlive_the_http_timeout(stack: Stack) -> None:
    import subprocess
    import sys

    env = stack.env | {"ANCHOR_HTTP_TIMEOUT_S": "10", "ANCHOR_CLAIM_TIMEOUT_S": "10"}
    completed = subprocess.run([sys.executable, "-m", "anchor.workers.worker"], env=env, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode != 0 and "ANCHOR_CLAIM_TIMEOUT_S" in completed.stderr, (
        f"expected the worker to refuse claim_timeout_s ≤ http_timeout_s + margin, naming the setting; "
        f"it exited {completed.returncode} with {completed.stderr[-500:]!r}")


def test_workers_and_scheduler_serve_their_metrics(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    stack.endpoint(tenant, app, receiver.url("/metered"))
    stack.send(tenant, app, {"n": 1})
    assert receiver.wait_for("/metered", 1), "expected the message delivered"
    time.sleep(0.2)

    worker = _metrics(stack, "worker")
    assert worker.get('anchor_attempts_total{outcome="success"}', 0) >= 1, (
        f"expected anchor_attempts_total{{outcome=\"success\"}} counted; got "
        f"{ {k: v for k, v in worker.items() if k.startswith('anchor_attempts')} }")
    assert worker.get("anchor_ingest_to_attempt_seconds_count", 0) >= 1, (
        "expected first attempts observed in anchor_ingest_to_attempt_seconds")
    scheduler = _metrics(stack, "scheduler")
    for gauge in ("anchor_stream_lag", "anchor_dead_letters"):
        assert gauge in scheduler, f"expected the scheduler to export {gauge}; got {sorted(scheduler)[:20]}"
