"""The SSRF guard holds at connect time, not only at registration.

The endpoints here were registered while loopback was allow-listed; the worker now runs with an
empty allow-list, as production does. A name that resolves to a private address (``localhost``)
and literals in any spelling are refused when the worker connects — the attempt is logged as
``ssrf`` and the receiver never sees a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Stack, make_stack, stack_fixture
from .receiver import Receiver


@pytest.fixture(scope="module")
def stack(log_dir: Path) -> Iterator[Stack]:
    started = make_stack("ssrf", log_dir, ssrf_allow_cidrs="", retry_time_scale="0.001")
    for role in ("relay", "worker", "scheduler"):
        started.start(role)
    yield from stack_fixture(started)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]", "2130706433"])
def test_a_private_address_is_refused_when_the_worker_connects(stack: Stack, receiver: Receiver,
                                                               host: str) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    path = f"/private-{len(host)}"
    endpoint_id, _ = stack.endpoint(tenant, app, f"http://{host}:{receiver.port}{path}")
    stack.send(tenant, app, {"n": 1})

    stack.wait("SELECT count(*) > 0 FROM attempts WHERE endpoint_id = %s", (endpoint_id,), True)
    attempts = stack.attempts(endpoint_id)
    assert attempts and attempts[0][2] == "ssrf", (
        f"expected the attempt to {host} refused at connect time and classed 'ssrf'; got {attempts}."
        f"\n{stack.logs()}")
    assert receiver.received(path) == [], f"expected no request to reach the receiver through {host}"
