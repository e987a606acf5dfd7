"""Lab anchor-jobs/relay: outbox rows become deliveries and stream entries — none lost, none twice.

The relay is the bridge between the transaction that accepted a message and the workers that
deliver it. It must fan a message out to exactly the endpoints that want it, publish each
pending delivery once, and survive being killed at the worst moment: with its XADDs on the wire
and its transaction not yet committed.
"""

from __future__ import annotations

import time

import pytest
from anchor_jobs_rig import GROUP, STREAM, Endpoint, Rig, wait_until

from course.chaos import ChaosProxy

LESSON = "weeks/14-anchor-jobs/README.md"


@pytest.fixture(scope="module")
def rig(make_rig: Rig) -> Rig:
    """Relays only: what they publish stays on the stream for the tests to read."""
    return make_rig


def _outbox_left(rig: Rig, ids: list[str]) -> int:
    row = rig.one("SELECT count(*) AS n FROM outbox WHERE message_id = ANY(%s)", ids)
    return int(row["n"]) if row else 0


def test_the_relay_fans_each_message_out_to_the_endpoints_that_want_it(rig: Rig) -> None:
    relay = rig.start("relay")
    try:
        tenant = rig.tenant()
        everything = rig.endpoint(tenant, "relay-all")
        invoices_only = rig.endpoint(tenant, "relay-invoices", filter_types=["invoice.paid"])
        switched_off = rig.endpoint(tenant, "relay-disabled", disabled=True)
        paid = rig.send(tenant, event_type="invoice.paid", count=2)
        created = rig.send(tenant, event_type="user.created")
        ids = paid + created
        assert wait_until(lambda: _outbox_left(rig, ids) == 0, 15), (
            f"expected the relay to consume the outbox; {_outbox_left(rig, ids)} of {len(ids)} rows are "
            f"still there after 15 s. Look at {LESSON}, section 'The relay'.")
    finally:
        relay.stop()

    def statuses(endpoint: Endpoint) -> dict[str, str]:
        return {row["message_id"]: row["status"] for row in rig.deliveries(endpoint)}

    assert statuses(everything) == dict.fromkeys(ids, "pending"), (
        f"expected one pending delivery per message for an endpoint without a filter; got "
        f"{statuses(everything)}. Look at {LESSON}, section 'The relay'.")
    assert statuses(invoices_only) == dict.fromkeys(paid, "pending"), (
        f"expected deliveries only for the event types in filter_types (invoice.paid); got "
        f"{statuses(invoices_only)}. Look at {LESSON}, section 'The relay'.")
    assert statuses(switched_off) == dict.fromkeys(ids, "skipped"), (
        f"expected a disabled endpoint's deliveries recorded as skipped (kept, so they can be "
        f"recovered), not sent; got {statuses(switched_off)}. Look at {LESSON}, section 'The relay'.")

    pending = {row["id"]: row for endpoint in (everything, invoices_only) for row in rig.deliveries(endpoint)}
    entries = {fields["delivery_id"]: fields for _, fields in rig.redis.xrange(STREAM)
               if fields.get("delivery_id") in pending or fields.get("message_id") in ids}
    assert sorted(entries) == sorted(pending), (
        f"expected exactly the {len(pending)} pending deliveries on {STREAM} (skipped ones never); got "
        f"{len(entries)} entries: {sorted(entries)}. Look at {LESSON}, section 'The relay'.")
    for delivery_id, fields in entries.items():
        assert fields.get("message_id") == pending[delivery_id]["message_id"], (
            f"expected each entry to carry its delivery's message_id; got {fields}")
        assert float(fields.get("ingested_at") or 0) > time.time() - 600, (
            f"expected ingested_at (the message's created_at, epoch seconds) on each entry — the "
            f"worker measures ingest → attempt from it; got {fields}. Look at {LESSON}, section 'The relay'.")


def test_relays_running_together_publish_each_delivery_once(rig: Rig) -> None:
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "relay-pair")
    ids = rig.send(tenant, count=300)
    relays = [rig.start("relay", relay_batch_size=20) for _ in range(2)]
    try:
        assert wait_until(lambda: _outbox_left(rig, ids) == 0, 20), (
            f"expected two relays to empty the outbox; {_outbox_left(rig, ids)} rows left after 20 s. "
            f"Look at {LESSON}, section 'The relay'.")
    finally:
        for relay in relays:
            relay.stop()
    delivery_ids = {row["id"] for row in rig.deliveries(endpoint)}
    published = [d for d in rig.stream_delivery_ids() if d in delivery_ids]
    twice = len(published) - len(set(published))
    assert len(delivery_ids) == len(ids) and twice == 0 and set(published) == delivery_ids, (
        f"expected 300 deliveries, each published once; got {len(delivery_ids)} deliveries, "
        f"{len(set(published))} published, {twice} published twice. Two relays must never take the same "
        f"outbox rows: SELECT … FOR UPDATE SKIP LOCKED. Look at {LESSON}, section 'The relay'.")


def test_a_relay_killed_mid_publish_loses_nothing(rig: Rig) -> None:
    """Redis stops answering while the relay publishes; it is killed there, and a new one takes over."""
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "relay-killed")
    with ChaosProxy.for_url(rig.redis_url) as proxy:
        stuck = rig.start("relay", redis_url=str(proxy.url(rig.redis_url)))
        proxy.blackhole()  # every XADD from now on waits for an answer that never comes
        ids = rig.send(tenant, count=20)
        # Killed only once its XADD is on the wire, held by the silent Redis: the worst moment.
        publishing = wait_until(lambda: proxy.held > 0, 10)
        stuck.kill()
    assert publishing, (
        f"expected the relay to send an XADD within 10 s of 20 messages being accepted; Redis heard "
        f"nothing. See {LESSON}, section 'The relay'.")
    wait_until(lambda: not _rows_locked(rig, ids), 5)  # its transaction ends with its connection

    relay = rig.start("relay")
    try:
        wait_until(lambda: len(rig.deliveries(endpoint)) == len(ids) and _outbox_left(rig, ids) == 0, 15)
    finally:
        relay.stop()
    delivery_ids = {row["id"] for row in rig.deliveries(endpoint)}
    published = set(rig.stream_delivery_ids()) & delivery_ids
    lost = len(ids) - len(published)
    assert lost == 0, (
        f"expected all {len(ids)} messages on the stream after a new relay took over; {lost} deliveries "
        f"exist but were never published — the killed relay committed them (and deleted their outbox "
        f"rows) before its XADDs went through. Publish first, then delete and commit, in one "
        f"transaction. Look at {LESSON}, section 'Publish, then commit'.")


def test_a_relay_killed_between_publish_and_commit_is_redone(rig: Rig) -> None:
    """Commit is held (a deferred trigger sleeps), the relay is killed: its entries name no rows."""
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "relay-uncommitted")
    trigger = f"hold_{endpoint.id.lower()}"
    rig.pg.execute(f"""
        CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER {trigger} AFTER INSERT ON deliveries DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.endpoint_id = '{endpoint.id}') EXECUTE FUNCTION {trigger}();""")
    try:
        relay = rig.start("relay")
        ids = rig.send(tenant, count=10)
        committing = wait_until(lambda: _sleeping_commits(rig) > 0, 10)
        relay.kill()
        rig.pg.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE wait_event = 'PgSleep' AND datname = current_database()")
    finally:
        rig.pg.execute(f"DROP TRIGGER IF EXISTS {trigger} ON deliveries; DROP FUNCTION IF EXISTS {trigger}()")
    assert committing, f"expected the relay to reach COMMIT within 10 s. See {LESSON}, section 'The relay'."
    assert not rig.deliveries(endpoint) and _outbox_left(rig, ids) == len(ids), (
        f"expected the killed relay's transaction rolled back: no deliveries, every outbox row still "
        f"there; got {len(rig.deliveries(endpoint))} deliveries and {_outbox_left(rig, ids)} outbox rows. "
        f"Look at {LESSON}, section 'Publish, then commit'.")

    relay = rig.start("relay")
    try:
        wait_until(lambda: _outbox_left(rig, ids) == 0, 15)
    finally:
        relay.stop()
    delivery_ids = {row["id"] for row in rig.deliveries(endpoint)}
    published = set(rig.stream_delivery_ids()) & delivery_ids
    assert len(delivery_ids) == len(ids) and published == delivery_ids, (
        f"expected the next relay to redo every message the killed one left in the outbox; got "
        f"{len(delivery_ids)} deliveries of {len(ids)}, {len(published)} published. Look at {LESSON}, "
        f"section 'Publish, then commit'.")
    assert rig.redis.exists(STREAM), f"expected {STREAM} to exist (group {GROUP} reads it)"


def _rows_locked(rig: Rig, ids: list[str]) -> bool:
    """Whether another transaction holds these outbox rows (a relay in the middle of its batch)."""
    with rig.pg.transaction():
        free = rig.one("SELECT count(*) AS n FROM (SELECT 1 FROM outbox WHERE message_id = ANY(%s) "
                       "FOR UPDATE SKIP LOCKED) AS free", ids)
        total = _outbox_left(rig, ids)
    return total > 0 and free is not None and int(free["n"]) < total


def _sleeping_commits(rig: Rig) -> int:
    row = rig.one("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                  "AND datname = current_database()")
    return int(row["n"]) if row else 0
