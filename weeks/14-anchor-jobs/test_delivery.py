"""Lab anchor-jobs/delivery: the worker signs, sends, logs every attempt, and keeps each endpoint's limits.

A receiver trusts a webhook only if the official libraries verify it, so the signature is checked
with ``standardwebhooks`` and ``svix`` over the bytes that really arrived. Every attempt lands in
the attempt log with an error class a support engineer can act on, and an endpoint's rate limit
and concurrency cap hold however many messages are waiting for it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import svix.webhooks
from anchor_jobs_rig import Endpoint, Rig, wait_until
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from course import services

LESSON = "weeks/14-anchor-jobs/README.md"
# Keys out of order, a float, non-ASCII text: a body re-serialised anywhere on the way differs.
PAYLOAD: dict[str, Any] = {"type": "invoice.paid", "amount": 12.5, "note": "café ☕",
                           "lines": [{"sku": "A-1", "qty": 2}], "id": "inv_1"}


@pytest.fixture
def rig(standard_rig: Rig) -> Rig:
    return standard_rig


def _verify(secret: str, body: bytes, headers: dict[str, str]) -> str | None:
    """What the official libraries say about this request: ``None`` if both accept it."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError as exc:
        return f"standardwebhooks refused it: {exc}"
    try:
        svix.webhooks.Webhook(secret).verify(body, headers)
    except svix.webhooks.WebhookVerificationError as exc:
        return f"svix refused it: {exc}"
    return None


def _settled(rig: Rig, endpoint: Endpoint, count: int) -> bool:
    """Whether ``count`` deliveries of the endpoint are no longer pending."""
    done = [row for row in rig.deliveries(endpoint) if row["status"] != "pending"]
    return len(done) >= count


def test_a_message_arrives_signed_so_the_official_libraries_verify_it(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "signed")
    [msg_id] = rig.send(tenant, PAYLOAD)
    got = rig.receiver.wait_for(endpoint.name, 1, 15)
    assert got, (f"expected the message at its endpoint within 15 s; nothing arrived. Look at {LESSON}, "
                 "section 'The worker loop'.")
    request = got[0]
    assert json.loads(request.body) == PAYLOAD, (
        f"expected the message's payload as the JSON body; got {request.body[:200]!r}")
    assert request.headers.get("webhook-id") == msg_id, (
        f"expected webhook-id = the message id {msg_id} (receivers dedupe on it); got "
        f"{request.headers.get('webhook-id')!r}. Look at {LESSON}, section 'Signing'.")
    assert request.headers.get("content-type", "").startswith("application/json"), (
        f"expected content-type application/json; got {request.headers.get('content-type')!r}")
    refused = _verify(endpoint.secret, request.body, request.headers)
    assert refused is None, (
        f"expected the signature to verify over the exact bytes sent; {refused}. Headers: "
        f"webhook-timestamp={request.headers.get('webhook-timestamp')!r}, webhook-signature="
        f"{request.headers.get('webhook-signature')!r}. Sign '{{id}}.{{timestamp}}.{{body}}' with the "
        f"body you send, byte for byte. Look at {LESSON}, section 'Signing'.")

    assert wait_until(lambda: _settled(rig, endpoint, 1), 10), (
        f"expected the delivery recorded as succeeded; it is {rig.deliveries(endpoint)}. Look at {LESSON}, "
        "section 'The worker loop'.")
    [delivery] = rig.deliveries(endpoint)
    attempts = rig.attempts(endpoint)
    assert delivery["status"] == "succeeded" and len(attempts) == 1, (
        f"expected a succeeded delivery with one attempt row; got status {delivery['status']!r} and "
        f"{len(attempts)} attempts. Look at {LESSON}, section 'The attempt log'.")
    assert attempts[0]["response_status_code"] == 200 and attempts[0]["error_class"] is None, (
        f"expected the attempt logged with status 200 and no error class; got {attempts[0]}")


def test_every_secret_still_in_its_grace_period_signs(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "rotating", retiring_secret=True)
    rig.send(tenant, PAYLOAD)
    got = rig.receiver.wait_for(endpoint.name, 1, 15)
    assert got, f"expected the message within 15 s; nothing arrived. Look at {LESSON}, section 'Signing'."
    request = got[0]
    signatures = request.headers.get("webhook-signature", "").split()
    assert len(signatures) == 2, (
        f"expected two signatures, space-separated — the new secret's and the one rotated out an hour "
        f"ago, still in its grace period; got {signatures}. Look at {LESSON}, section 'Signing'.")
    for secret in rig.secrets_of(endpoint):
        refused = _verify(secret, request.body, request.headers)
        assert refused is None, (
            f"expected a receiver that knows only one of the two secrets to accept the request; {refused}. "
            f"Look at {LESSON}, section 'Signing'.")


def test_each_attempt_is_logged_with_what_went_wrong(rig: Rig) -> None:
    tenant = rig.tenant()
    closed_port = services.free_port()
    endpoints = {
        "success": rig.endpoint(tenant, "ok"),
        "http": rig.endpoint(tenant, "broken"),
        "timeout": rig.endpoint(tenant, "hangs"),
        "redirect": rig.endpoint(tenant, "redirects"),
        "connect": rig.endpoint(tenant, "refused", url=f"http://127.0.0.1:{closed_port}/hook"),
        "dns": rig.endpoint(tenant, "unknown-name", url="http://no-such-host.invalid/hook"),
        "ssrf": rig.endpoint(tenant, "metadata", url="http://169.254.169.254/latest/meta-data/"),
    }
    rig.receiver.behave(endpoints["http"].name, status=500, body=b"E" * 5000)
    rig.receiver.behave(endpoints["timeout"].name, delay_s=3)
    rig.receiver.behave(endpoints["redirect"].name, status=302,
                        headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    rig.send(tenant, PAYLOAD)

    def logged() -> dict[str, dict[str, Any]]:
        return {kind: rows[0] for kind, endpoint in endpoints.items() if (rows := rig.attempts(endpoint))}

    wait_until(lambda: len(logged()) == len(endpoints), 15)
    attempts = logged()
    classes = {kind: attempts[kind]["error_class"] if kind in attempts else "(no attempt)"
               for kind in endpoints}
    expected = {"success": None, "http": "http", "timeout": "timeout", "redirect": "http",
                "connect": "connect", "dns": "dns", "ssrf": "ssrf"}
    assert classes == expected, (
        f"expected each failure classified (dns, connect, timeout, http, ssrf; none on success); got "
        f"{classes}. Look at {LESSON}, section 'The attempt log'.")
    assert attempts["http"]["response_status_code"] == 500 and \
        0 < len(attempts["http"]["response_body"].encode()) <= 100, (
        f"expected a 500 logged with its body cut to response_body_max_bytes (100); got status "
        f"{attempts['http']['response_status_code']} and {len(attempts['http']['response_body'])} "
        f"characters. Look at {LESSON}, section 'The attempt log'.")
    assert 800 <= attempts["timeout"]["duration_ms"] < 2900, (
        f"expected the hanging endpoint given up on at the HTTP timeout (1 s); the attempt took "
        f"{attempts['timeout']['duration_ms']} ms. Look at {LESSON}, section 'The attempt log'.")
    followed = rig.receiver.received(endpoints["redirect"].name)
    assert len(followed) == 1 and attempts["redirect"]["response_status_code"] == 302, (
        f"expected a 302 logged as an HTTP failure and never followed (its Location is the cloud "
        f"metadata address); got {attempts['redirect']}. Look at {LESSON}, section 'The attempt log'.")


def test_an_endpoints_rate_limit_holds_and_waiting_is_not_an_attempt(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "rate-limited", rate_limit=10)
    ids = rig.send(tenant, count=25)
    got = rig.receiver.wait_for(endpoint.name, len(ids), 20)
    assert len(got) == len(ids), (
        f"expected all {len(ids)} messages delivered within 20 s; {len(got)} arrived. A delivery the "
        f"limit turned away must come back when it is due. Look at {LESSON}, section 'Per-endpoint limits'.")
    span_s = max(r.at_s for r in got) - min(r.at_s for r in got)
    assert span_s >= 1.0, (
        f"expected 25 messages to an endpoint limited to 10/s to take at least 1 s (a bucket of 10, then "
        f"10 per second); they all arrived within {span_s:.2f} s. Look at {LESSON}, section "
        "'Per-endpoint limits'.")
    wait_until(lambda: _settled(rig, endpoint, len(ids)), 10)
    counts = sorted({row["attempts"] for row in rig.deliveries(endpoint)})
    logged = len(rig.attempts(endpoint))
    assert counts == [1] and logged == len(ids), (
        f"expected one attempt per delivery — waiting for the rate limit is not an attempt; got attempt "
        f"counts {counts} and {logged} attempt rows. Look at {LESSON}, section 'Per-endpoint limits'.")


def test_an_endpoints_concurrency_cap_holds(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "capped", max_concurrency=2)
    rig.receiver.behave(endpoint.name, delay_s=0.3)
    ids = rig.send(tenant, count=6)
    got = rig.receiver.wait_for(endpoint.name, len(ids), 20)
    assert len(got) == len(ids), (
        f"expected all {len(ids)} messages delivered within 20 s; {len(got)} arrived. Look at {LESSON}, "
        "section 'Per-endpoint limits'.")
    peak = rig.receiver.peak_in_flight(endpoint.name)
    assert peak <= 2, (
        f"expected at most 2 requests in flight to an endpoint with max_concurrency 2; the receiver saw "
        f"{peak} at once. Look at {LESSON}, section 'Per-endpoint limits'.")
