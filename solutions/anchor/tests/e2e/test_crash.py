"""A worker stopped in the middle of deliveries loses nothing, however it is stopped.

SIGTERM (``docker stop``): it stops reading, lets what is in flight finish, records it and exits
0 — no message is sent twice. ``kill -9``: nothing runs any more, so the rest is up to the others.

Its stream entries stay pending and its leases in PostgreSQL lapse after ``claim_timeout_s``;
the other worker then takes them over (``XAUTOCLAIM``) and attempts them again. The receiver may
see a message twice (it was mid-request when the worker died) — it dedupes on ``webhook-id`` —
but every message arrives and every delivery ends ``succeeded``.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Stack, make_stack, stack_fixture
from .receiver import Receiver

SETTINGS = {"http_timeout_s": "1", "claim_timeout_s": "6", "scheduler_interval_s": "0.1",
            "retry_time_scale": "0.001", "ssrf_allow_cidrs": "127.0.0.1/32", "worker_concurrency": "8"}
MESSAGES = 24


@pytest.fixture(scope="module")
def stack(log_dir: Path) -> Iterator[Stack]:
    started = make_stack("crash", log_dir, **SETTINGS)
    for role in ("relay", "scheduler"):
        started.start(role)
    yield from stack_fixture(started)


def test_kill_9_of_a_worker_mid_delivery_loses_nothing(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    endpoint_id, _ = stack.endpoint(tenant, app, receiver.url("/slow"))
    receiver.behave("/slow", delay_s=0.4)
    victim = stack.start("worker", tag="-victim")
    sent = {stack.send(tenant, app, {"n": n}) for n in range(MESSAGES)}

    receiver.wait_for("/slow", 4)
    victim.stop(signal.SIGKILL)
    in_flight = MESSAGES - int(stack.sql("SELECT count(*) FROM deliveries WHERE endpoint_id = %s "
                                         "AND status = 'succeeded'", (endpoint_id,))[0][0])
    assert in_flight > 0, "the worker finished everything before it was killed; the test proves nothing"
    survivor = stack.start("worker", tag="-survivor")
    try:
        done = stack.wait("SELECT count(*) FROM deliveries WHERE endpoint_id = %s AND status = 'succeeded'",
                          (endpoint_id,), MESSAGES, timeout_s=60)
    finally:
        survivor.stop()  # the next test counts what *its* worker holds: no other worker may run
    assert done == MESSAGES, (
        f"expected all {MESSAGES} deliveries to succeed after the kill (the survivor takes over the dead "
        f"worker's entries once claim_timeout_s passes); {done} did.\n{stack.logs()}")
    received = {r.headers["webhook-id"] for r in receiver.received("/slow")}
    assert received == sent, f"expected every message at the receiver; missing {sorted(sent - received)}"
    duplicates = len(receiver.received("/slow")) - MESSAGES
    assert duplicates <= in_flight, (
        f"expected at most one repeat per delivery the dead worker held ({in_flight}); got {duplicates}")


def test_sigterm_lets_in_flight_deliveries_finish_and_exits_cleanly(stack: Stack, receiver: Receiver) -> None:
    tenant = stack.tenant()
    app = stack.app(tenant)
    endpoint_id, _ = stack.endpoint(tenant, app, receiver.url("/graceful"))
    receiver.behave("/graceful", delay_s=0.4)
    running = [name for name, role in stack.roles.items()
               if name.startswith("worker") and role.process.poll() is None]
    assert not running, f"expected no other worker running, to count what this one holds; found {running}"
    stopping = stack.start("worker", tag="-graceful")
    sent = {stack.send(tenant, app, {"n": n}) for n in range(MESSAGES)}

    receiver.wait_for("/graceful", 2)
    code = stopping.stop(signal.SIGTERM)
    assert code == 0, f"expected the worker to exit 0 on SIGTERM; it exited {code}:\n{stopping.tail()}"
    leased = stack.sql("SELECT count(*) FROM deliveries WHERE endpoint_id = %s AND lease_until > now() "
                       "AND status = 'pending'", (endpoint_id,))[0][0]
    assert leased == 0, (
        f"expected every delivery the worker held to be recorded before it exited; {leased} still leased")
    after = stack.start("worker", tag="-after-graceful")
    try:
        done = stack.wait("SELECT count(*) FROM deliveries WHERE endpoint_id = %s AND status = 'succeeded'",
                          (endpoint_id,), MESSAGES, timeout_s=60)
    finally:
        after.stop()
    assert done == MESSAGES, f"expected all {MESSAGES} delivered after the restart; {done} were"
    received = [r.headers["webhook-id"] for r in receiver.received("/graceful")]
    assert sorted(received) == sorted(sent), (
        f"expected each message exactly once after a graceful stop; {len(received)} requests for {MESSAGES} "
        "messages")
