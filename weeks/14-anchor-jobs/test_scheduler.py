"""Lab anchor-jobs/scheduler: PostgreSQL says what is due; the scheduler puts it back on the stream.

The tests write delivery rows in every state a scheduler meets — due, not yet due, leased, just
announced, announced long ago and lost with Redis, finished — and read what it XADDs.
"""

from __future__ import annotations

import time

import pytest
from anchor_jobs_rig import Rig, Tenant, new_id, wait_until

LESSON = "weeks/14-anchor-jobs/README.md"
SETTINGS: dict[str, object] = {"scheduler_interval_s": 0.05, "claim_timeout_s": 6, "http_timeout_s": 1}

# (name, status, next_attempt_at, enqueued_at, lease_until) as SQL expressions
STATES = [
    ("due", "pending", "now() - interval '1 second'", "now() - interval '2 seconds'", "NULL"),
    ("never announced", "pending", "now() - interval '1 second'", "NULL", "NULL"),
    ("lost with redis", "pending", "now() - interval '2 hours'", "now() - interval '1 hour'", "NULL"),
    ("leased", "pending", "now() - interval '1 second'", "NULL", "now() + interval '1 hour'"),
    ("not yet due", "pending", "now() + interval '1 hour'", "NULL", "NULL"),
    ("just announced", "pending", "now() - interval '10 seconds'", "now() - interval '1 second'", "NULL"),
    ("succeeded", "succeeded", "now() - interval '1 second'", "NULL", "NULL"),
]
ANNOUNCED = {"due", "never announced", "lost with redis"}


@pytest.fixture(scope="module")
def rig(make_rig: Rig) -> Rig:
    make_rig.start("scheduler", **SETTINGS)
    return make_rig


def _deliveries(rig: Rig, tenant: Tenant, url: str) -> dict[str, str]:
    """One delivery in each of :data:`STATES`, to one endpoint; ``{delivery_id: state name}``."""
    endpoint = rig.endpoint(tenant, "scheduled", url=url)
    made = {}
    for name, status, due, enqueued, lease in STATES:
        [msg_id] = rig.send(tenant)
        rig.pg.execute("DELETE FROM outbox WHERE message_id = %s", (msg_id,))  # no relay: rows by hand
        delivery_id = new_id("dlv")
        rig.pg.execute(
            f"INSERT INTO deliveries (id, tenant_id, app_id, message_id, endpoint_id, status, attempts, "
            f"next_attempt_at, enqueued_at, lease_until) VALUES (%s, %s, %s, %s, %s, %s, 1, {due}, "
            f"{enqueued}, {lease})", (delivery_id, tenant.id, tenant.app_id, msg_id, endpoint.id, status))
        made[delivery_id] = name
    return made


def test_due_deliveries_are_announced_once_and_leased_ones_never(rig: Rig) -> None:
    made = _deliveries(rig, rig.tenant(), "http://127.0.0.1:9/unused")

    def announced() -> list[str]:
        return [made[d] for d in rig.stream_delivery_ids() if d in made]

    wait_until(lambda: set(announced()) >= ANNOUNCED, 5)
    time.sleep(0.5)  # ten more sweeps: nothing may be announced twice, nothing else at all
    got = sorted(announced())
    assert got == sorted(ANNOUNCED), (
        f"expected exactly the due, never-announced and lost deliveries on the stream, once each; got "
        f"{got}. A leased delivery is in flight (announcing it again makes a duplicate); one announced "
        f"since it became due is already on the stream. Look at {LESSON}, section 'The scheduler'.")


def test_a_stream_lost_with_redis_is_rebuilt_from_the_rows(rig: Rig) -> None:
    """Deliveries announced an hour ago, their entries gone (Redis restarted empty): delivered anyway."""
    tenant = rig.tenant()
    endpoint = rig.endpoint(tenant, "rebuilt")
    ids = rig.send(tenant, count=5)
    rig.pg.execute("DELETE FROM outbox WHERE message_id = ANY(%s)", (ids,))
    rig.pg.execute(
        "INSERT INTO deliveries (id, tenant_id, app_id, message_id, endpoint_id, next_attempt_at, "
        "enqueued_at) "
        "SELECT 'dlv_' || substr(md5(m.id), 1, 26), m.tenant_id, m.app_id, m.id, %s, "
        "now() - interval '2 hours', now() - interval '1 hour' FROM messages m WHERE m.id = ANY(%s)",
        (endpoint.id, ids))
    rig.start("worker", **SETTINGS)
    got = rig.receiver.wait_for(endpoint.name, len(ids), 15)
    arrived = {r.headers.get("webhook-id") for r in got}
    assert arrived == set(ids), (
        f"expected the {len(ids)} deliveries whose stream entries were lost to be announced again from "
        f"PostgreSQL and delivered; {len(arrived)} arrived. Look at {LESSON}, section 'The scheduler'.")
