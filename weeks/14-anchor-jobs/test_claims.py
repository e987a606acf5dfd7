"""Lab anchor-jobs/delivery (claims): a worker killed mid-request loses nothing; a poison entry stops.

The worker acks a stream entry only after its attempt is recorded, so a worker killed in the
middle of a request leaves the entry pending and its lease lapsing — and another worker takes it
over. These workers run with a 3 s claim on a 2 s HTTP timeout (``unsafe_skip_claim_check``) so the
takeover happens within the test; the receiver that hangs is answered by nobody, so no request is
in flight twice.
"""

from __future__ import annotations

import pytest
from anchor_jobs_rig import DEAD_LETTERS, GROUP, STREAM, Rig, wait_until

LESSON = "weeks/14-anchor-jobs/README.md"
SETTINGS: dict[str, object] = {"http_timeout_s": 2, "claim_timeout_s": 3,
                               "unsafe_skip_claim_check": "true", "scheduler_interval_s": 0.1,
                               "max_stream_deliveries": 3}


@pytest.fixture(scope="module")
def rig(make_rig: Rig) -> Rig:
    make_rig.start_together(("relay", SETTINGS), ("scheduler", SETTINGS))
    return make_rig


def _pending_delivery_ids(rig: Rig) -> set[str]:
    """The delivery ids of the group's entries read but not acknowledged."""
    pending = rig.redis.xpending_range(STREAM, GROUP, min="-", max="+", count=1000)
    ids = [entry["message_id"] for entry in pending]
    return {fields.get("delivery_id", "") for entry_id in ids
            for _, fields in rig.redis.xrange(STREAM, entry_id, entry_id)}


def test_a_worker_killed_mid_request_leaves_the_entry_for_another(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "killed-mid-request")
    rig.receiver.behave(endpoint.name, delay_s=30)  # the request hangs until the worker dies
    first = rig.start("worker", **SETTINGS)
    [msg_id] = rig.send(tenant)
    arrived = rig.receiver.wait_for(endpoint.name, 1, 15)
    first.kill()
    assert arrived, f"expected the message at its endpoint within 15 s. See {LESSON}, section 'Signing'."
    [delivery] = rig.deliveries(endpoint)
    assert delivery["id"] in _pending_delivery_ids(rig), (
        f"expected the entry of delivery {delivery['id']} still pending (un-acked) after its worker was "
        f"killed mid-request; it was acknowledged before the attempt was recorded, so no other worker will "
        f"ever take it over. Ack after the attempt row commits. Look at {LESSON}, section 'The worker loop'.")

    rig.receiver.behave(endpoint.name, status=200)
    second = rig.start("worker", **SETTINGS)
    try:
        wait_until(lambda: rig.deliveries(endpoint)[0]["status"] == "succeeded", 20)
    finally:
        second.stop()
    got = rig.receiver.received(endpoint.name)
    assert rig.deliveries(endpoint)[0]["status"] == "succeeded" and len(got) == 2, (
        f"expected another worker to take the delivery over once the lease lapsed (claim_timeout_s = 3 s) "
        f"and deliver it: two requests, the second answered; got {len(got)} requests and status "
        f"{rig.deliveries(endpoint)[0]['status']!r}. Look at {LESSON}, section 'Claims and leases'.")
    assert {r.headers.get("webhook-id") for r in got} == {msg_id}, (
        "expected both requests to carry the same webhook-id (the receiver dedupes on it)")


def test_an_entry_no_worker_can_finish_is_dead_lettered(rig: Rig) -> None:
    """An entry claimed over and over without an ack (each holder died) goes to the dead letters."""
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "poison")
    rig.send(tenant)
    wait_until(lambda: any(d for d in rig.deliveries(endpoint)), 10)
    [delivery] = rig.deliveries(endpoint)
    # The scheduler must not announce it afresh during the test: it was "announced" far ahead.
    rig.pg.execute("UPDATE deliveries SET enqueued_at = now() + interval '1 hour' WHERE id = %s",
                   (delivery["id"],))
    if not _group_exists(rig):
        rig.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    rig.redis.xreadgroup(GROUP, "ghost", {STREAM: ">"}, count=1000)
    entries = [i for i, fields in rig.redis.xrange(STREAM) if fields.get("delivery_id") == delivery["id"]]
    assert entries, f"expected delivery {delivery['id']} on the stream. See {LESSON}, section 'The relay'."
    entry_id = entries[0]
    # The consumer that read it, and every one after it, died: idle for ages, delivered 10 times.
    rig.redis.xclaim(STREAM, GROUP, "ghost", 0, [entry_id], idle=10**8, retrycount=10)
    worker = rig.start("worker", **SETTINGS)
    try:
        wait_until(lambda: rig.deliveries(endpoint)[0]["status"] == "failed", 10)
    finally:
        worker.stop()
    # However a dead letter is laid out, it names the delivery (or the entry that carried it).
    dead = [" ".join(fields.values()) for _, fields in rig.redis.xrange(DEAD_LETTERS)]
    status = rig.deliveries(endpoint)[0]["status"]
    assert any(delivery["id"] in text or entry_id in text for text in dead) and status == "failed", (
        f"expected an entry delivered 10 times without an ack (max_stream_deliveries = 3) moved to "
        f"{DEAD_LETTERS} and its delivery failed; dead letters hold {dead}, the delivery is "
        f"{status!r}. Look at {LESSON}, section 'Claims and leases'.")
    assert not rig.receiver.received(endpoint.name), (
        "expected a dead-lettered entry not attempted again: something in it kills every worker that tries")


def _group_exists(rig: Rig) -> bool:
    return rig.redis.exists(STREAM) and any(g["name"] == GROUP for g in rig.redis.xinfo_groups(STREAM))
