"""Interop: the official ``svix`` Python SDK, pointed at the anchor, drives it unchanged.

The anchor keeps Svix's paths, camelCase shapes, bearer auth and error members (``code`` and
``detail``) for the subset it implements, so a team can switch with one line of configuration. The
API runs as a real process here (``python -m anchor.api``, uvicorn on a loopback port), the way
the SDK would meet it in production.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anchor
import httpx
import pytest
from anchor.core.config import Settings
from anchor.core.ids import new_id
from anchor.models import Attempt, Delivery
from anchor.tests.helpers import PUBLIC_URL, make_tenant
from fastapi import FastAPI
from svix.api import ApplicationIn, EndpointIn, MessageIn, Svix, SvixOptions
from svix.api.errors.http_error import HttpError

pytestmark = pytest.mark.anyio

START_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def served(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m anchor.api`` on a free port, with the tests' settings; its base URL."""
    port = _free_port()
    env = os.environ | {
        "PYTHONPATH": str(Path(anchor.__file__).resolve().parents[1]),
        "ANCHOR_DATABASE_URL": settings.database_url, "ANCHOR_REDIS_URL": settings.redis_url,
        "ANCHOR_JWT_SECRET": settings.jwt_secret.get_secret_value(), "ANCHOR_LOG_LEVEL": "warning"}
    command = [sys.executable, "-m", "anchor.api", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path_factory.mktemp("api") / "api.log"  # a file, not a pipe nobody drains
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"python -m anchor.api exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"python -m anchor.api did not answer /healthz within {START_TIMEOUT_S:g} s")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_the_svix_sdk_creates_and_reads_back_through_the_anchor(served: str, app: FastAPI) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        owner = await make_tenant(client)
    svix = Svix(owner.api_key, SvixOptions(server_url=served, retry_schedule=[]))

    customer = svix.application.create(ApplicationIn(name="SDK customer", uid="sdk-customer"))
    assert customer.id.startswith("app_") and customer.uid == "sdk-customer", (
        f"the SDK parsed ApplicationOut: {customer}")
    endpoint = svix.endpoint.create(customer.id, EndpointIn(url=PUBLIC_URL, description="from the SDK"))
    assert endpoint.url == PUBLIC_URL and endpoint.description == "from the SDK", endpoint
    assert svix.endpoint.get_secret(customer.id, endpoint.id).key.startswith("whsec_")
    message = svix.message.create("sdk-customer", MessageIn(event_type="invoice.paid", payload={"amount": 5}))
    assert message.id.startswith("msg_") and message.payload == {"amount": 5}, message
    listed = svix.message.list(customer.id)
    assert [m.id for m in listed.data] == [message.id] and listed.done, f"the SDK lists the message: {listed}"

    async with app.state.sessions() as session:  # the worker's part: one attempt
        delivery_id = new_id("dlv")
        session.add(Delivery(id=delivery_id, tenant_id=owner.tenant_id, app_id=customer.id,
                             message_id=message.id, endpoint_id=endpoint.id, status="succeeded", attempts=1))
        await session.flush()
        session.add(Attempt(id=new_id("atmpt"), tenant_id=owner.tenant_id, app_id=customer.id,
                            message_id=message.id, endpoint_id=endpoint.id, delivery_id=delivery_id,
                            url=PUBLIC_URL, status="succeeded", response_status_code=200, response_body="ok",
                            duration_ms=31))
        await session.commit()
    attempts = svix.message_attempt.list_by_msg(customer.id, message.id)
    assert [(a.msg_id, a.endpoint_id, a.response_status_code, int(a.status)) for a in attempts.data] == [
        (message.id, endpoint.id, 200, 0)], f"the SDK reads the attempt log: {attempts}"

    with pytest.raises(HttpError) as missing:
        svix.application.get("app_that_does_not_exist")
    assert (missing.value.status_code, missing.value.code) == (404, "not_found"), (
        f"the SDK reads the problem's code and detail; got {missing.value!r}")

