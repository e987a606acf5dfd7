"""The whole service as a customer uses it: the API process and the roles, driven over HTTP.

The official ``svix`` Python SDK creates an application, an endpoint and a message against the
anchor and reads the attempts back — the API speaks Svix's shapes for the subset it implements.
Resend and recover go through the API too, and their deliveries through the real roles.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from svix.api import ApplicationIn, EndpointIn, MessageIn, Svix, SvixOptions

from .conftest import Role, Stack, free_port, make_stack, stack_fixture
from .receiver import Receiver

SETTINGS = {"retry_time_scale": "0.001", "retry_schedule_s": "0,5,300", "http_timeout_s": "1",
            "claim_timeout_s": "6", "scheduler_interval_s": "0.05", "ssrf_allow_cidrs": "127.0.0.1/32"}


def _start_api(stack: Stack) -> str:
    port = free_port()
    log = stack.log_dir / "api.log"
    command = [sys.executable, "-m", "anchor.api", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=stack.env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    stack.roles["api"] = Role("api", process, log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the api exited with {process.returncode}:\n{stack.roles['api'].tail()}",
                        pytrace=False)
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the api did not answer /healthz in 90 s:\n{stack.roles['api'].tail()}", pytrace=False)


@pytest.fixture(scope="module")
def stack(log_dir: Path) -> Iterator[Stack]:
    started = make_stack("api", log_dir, **SETTINGS)
    for role in ("relay", "worker", "scheduler"):
        started.start(role)
    yield from stack_fixture(started)


@pytest.fixture(scope="module")
def api(stack: Stack) -> str:
    return _start_api(stack)


@pytest.fixture(scope="module")
def api_key(api: str) -> str:
    email = f"e2e-{time.time_ns()}@example.test"
    signup = httpx.post(f"{api}/api/v1/auth/signup", json={"email": email, "password": "correct horse 42",
                                                           "organization": "E2E"})
    assert signup.status_code == 201, f"expected signup to answer 201; got {signup.status_code} {signup.text}"
    token = httpx.post(f"{api}/api/v1/auth/token", data={"username": email, "password": "correct horse 42"})
    key = httpx.post(f"{api}/api/v1/api-keys", json={"name": "e2e"},
                     headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert key.status_code == 201, f"expected an API key; got {key.status_code} {key.text}"
    return str(key.json()["key"])


def test_the_svix_sdk_sends_a_message_and_reads_its_attempts(api: str, api_key: str,
                                                            receiver: Receiver) -> None:
    client = Svix(api_key, SvixOptions(server_url=api))
    app = client.application.create(ApplicationIn(name="sdk app"))
    endpoint = client.endpoint.create(app.id, EndpointIn(url=receiver.url("/sdk"), description="sdk"))
    message = client.message.create(app.id, MessageIn(event_type="user.signup", payload={"user": "u_1"}))

    got = receiver.wait_for("/sdk", 1)
    assert got and got[0].headers["webhook-id"] == message.id, (
        f"expected the SDK's message at the receiver with webhook-id {message.id}; got {got}")
    secret = client.endpoint.get_secret(app.id, endpoint.id).key
    from svix.webhooks import Webhook

    Webhook(secret).verify(got[0].body, got[0].headers)
    attempts = []
    deadline = time.monotonic() + 10
    while not attempts and time.monotonic() < deadline:
        attempts = client.message_attempt.list_by_msg(app.id, message.id).data
        time.sleep(0.05)
    assert attempts and attempts[0].response_status_code == 200 and attempts[0].endpoint_id == endpoint.id, (
        f"expected the SDK to read back one attempt answered 200 for the endpoint; got {attempts}")


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def test_resend_delivers_the_message_again_as_a_manual_attempt(api: str, api_key: str,
                                                               receiver: Receiver) -> None:
    headers = _headers(api_key)
    app = httpx.post(f"{api}/api/v1/app", json={"name": "resend"}, headers=headers).json()["id"]
    endpoint = httpx.post(f"{api}/api/v1/app/{app}/endpoint", json={"url": receiver.url("/resend")},
                          headers=headers).json()["id"]
    msg = httpx.post(f"{api}/api/v1/app/{app}/msg", json={"eventType": "a.b", "payload": {"n": 1}},
                     headers=headers).json()["id"]
    assert len(receiver.wait_for("/resend", 1)) == 1, "expected the first delivery"
    time.sleep(0.3)  # the first attempt is recorded before the resend makes the delivery pending again
    resent = httpx.post(f"{api}/api/v1/app/{app}/msg/{msg}/endpoint/{endpoint}/resend", headers=headers)
    assert resent.status_code == 202, f"expected resend to answer 202; got {resent.status_code} {resent.text}"

    got = receiver.wait_for("/resend", 2)
    assert [r.headers["webhook-id"] for r in got] == [msg, msg], f"expected the same message twice; got {got}"
    deadline = time.monotonic() + 10
    triggers: list[int] = []
    while len(triggers) < 2 and time.monotonic() < deadline:
        page = httpx.get(f"{api}/api/v1/app/{app}/attempt/msg/{msg}", headers=headers).json()
        triggers = sorted(item["triggerType"] for item in page["data"])
        time.sleep(0.05)
    assert triggers == [0, 1], f"expected a scheduled (0) and a manual (1) attempt in the log; got {triggers}"


def test_messages_kept_while_disabled_are_delivered_after_recover(api: str, api_key: str,
                                                                  receiver: Receiver) -> None:
    headers = _headers(api_key)
    app = httpx.post(f"{api}/api/v1/app", json={"name": "recover"}, headers=headers).json()["id"]
    endpoint = httpx.post(f"{api}/api/v1/app/{app}/endpoint", json={"url": receiver.url("/recover")},
                          headers=headers).json()["id"]
    receiver.behave("/recover", status=410)
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    httpx.post(f"{api}/api/v1/app/{app}/msg", json={"eventType": "a.b", "payload": {"n": 1}}, headers=headers)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = httpx.get(f"{api}/api/v1/app/{app}/endpoint/{endpoint}", headers=headers).json()
        if state.get("disabled"):
            break
        time.sleep(0.05)
    assert state.get("disabled") and state.get("disabledReason") == "gone", (
        f"expected the 410 to disable the endpoint (reason gone); got {state}")
    httpx.post(f"{api}/api/v1/app/{app}/msg", json={"eventType": "a.b", "payload": {"n": 2}}, headers=headers)
    time.sleep(0.5)  # the relay marks it skipped: kept, not attempted
    assert len(receiver.received("/recover")) == 1, "expected nothing sent to a disabled endpoint"

    receiver.behave("/recover", status=200)
    enabled = httpx.patch(f"{api}/api/v1/app/{app}/endpoint/{endpoint}", json={"disabled": False},
                          headers=headers)
    assert enabled.status_code == 200, f"expected re-enabling to work; got {enabled.status_code}"
    recovered = httpx.post(f"{api}/api/v1/app/{app}/endpoint/{endpoint}/recover", json={"since": since},
                           headers=headers)
    assert recovered.status_code == 202, f"expected recover to answer 202; got {recovered.text}"
    got = receiver.wait_for("/recover", 3)
    assert len(got) == 3 and [r.answered for r in got[1:]] == [200, 200], (
        f"expected both messages (the failed one and the one kept while disabled) delivered after "
        f"recover; got {[r.answered for r in got]}")
