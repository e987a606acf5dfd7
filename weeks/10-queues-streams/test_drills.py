"""Lab: drills — ``kill -9`` real consumers and relays at the worst moments, under load.

The processes are ``labs/week10_queues_streams/drill.py`` (given) built from your three modules.
Each one SIGKILLs itself at a named point (after its N-th effect, inside its N-th effect, after
its N-th publish), so the kill lands in the same place on every run; what survives it is
decided by your code alone. After every drill the test reads the truth — the outbox, the
stream, the ``effects`` table — and counts what was lost and what happened twice.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator

import psycopg
import pytest
import redis

from course.processes import ProcessFailed, RunningProcess, start_in_background, start_process, stop_all
from labs.week10_queues_streams import consumer, outbox
from labs.week10_queues_streams.drill import EFFECTS_SCHEMA

LESSON = "weeks/10-queues-streams/README.md"
DRILL = "labs.week10_queues_streams.drill"
STREAM, GROUP = "events", "drill"
MIN_IDLE_MS = 300  # a dead consumer's messages are claimed this long after their delivery
BATCH_SIZE = 10
EVENTS = 300
KEYS = 10
SETTLE_TIMEOUT_S = 30.0  # an upper bound for "everything was processed", never a measurement


class Rig:
    """Fresh tables and stream for one drill, and the processes it starts."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.processes: list[RunningProcess] = []
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS outbox, processed_events, effects")
        self.run_async_setup()

    def run_async_setup(self) -> None:
        """The tables, made by the modules that own them (yours for the outbox and processed ids)."""
        async def create() -> None:
            async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as conn:
                await outbox.ensure_schema(conn)
                await consumer.ensure_schema(conn)
                await conn.execute(EFFECTS_SCHEMA)

        asyncio.run(create())
        self.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)

    def command(self, role: str, **options: object) -> list[str]:
        argv = [sys.executable, "-m", DRILL, role, "--database-url", self.database_url,
                "--redis-url", self.redis_url, "--stream", STREAM, "--group", GROUP]
        for name, value in options.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        return argv

    def start(self, *commands: list[str]) -> list[RunningProcess]:
        """Start the processes together (imports overlap) and wait until each has printed ``ready``."""
        starting = [start_in_background(command, ready_line="ready", timeout=60) for command in commands]
        started = [s.started() for s in starting]
        self.processes += [p for p in started if p is not None]
        failures = []
        for attempt in starting:
            try:
                attempt.result()
            except ProcessFailed as exc:
                failures.append(str(exc))
        if failures:  # outside `except`: one clear message (a starter's becomes "not written yet")
            pytest.fail(f"a drill process did not start: {failures[0][-2500:]}", pytrace=False)
        return [p for p in started if p is not None]

    def launch(self, command: list[str]) -> RunningProcess:
        """Start a process without waiting for it: it may be done (and gone) before anyone reads "ready"."""
        process = start_process(command)
        self.processes.append(process)
        return process

    def expect_killed(self, process: RunningProcess, what: str, *,
                      feeder: RunningProcess | None = None) -> None:
        """The process must have SIGKILLed itself at its kill point (so the drill really happened).

        ``feeder`` is the producer it depends on: if that fails, its output is the answer.
        """
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while process.popen.poll() is None and time.monotonic() < deadline:
            if feeder is not None and feeder.popen.poll() not in (None, 0):
                pytest.fail(f"the producer failed: {feeder.output(last_lines=12)}", pytrace=False)
            time.sleep(0.02)
        code = process.popen.poll()
        assert code == -signal.SIGKILL, (
            f"expected the {what} to reach its kill point and die by SIGKILL; "
            + (f"it was still running after {SETTLE_TIMEOUT_S:.0f} s" if code is None
               else f"it exited with {code}")
            + f". Its last output:\n{process.output(last_lines=12)}")

    def publish_events(self, count: int, pause_s: float) -> list[str]:
        """Publish ``count`` events straight onto the stream (as a relay would), ``pause_s`` apart."""
        ids = []
        for n in range(count):
            event_id = f"evt-{n}"
            self.redis.xadd(STREAM, {"event_id": event_id, "key": f"k{n % KEYS}", "type": "order.updated",
                                     "payload": json.dumps({"seq": n // KEYS, "n": n})})
            ids.append(event_id)
            time.sleep(pause_s)
        return ids

    def effects(self) -> Counter[str]:
        with psycopg.connect(self.database_url) as conn:
            return Counter(row[0] for row in conn.execute("SELECT event_id FROM effects").fetchall())

    def applied(self) -> Counter[tuple[str, int]]:
        """Effects by (key, seq): the producer's events carry both, whatever their outbox ids."""
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute("SELECT key, seq FROM effects").fetchall()
        return Counter((key, seq) for key, seq in rows)

    def pending(self) -> int:
        return int(self.redis.xpending(STREAM, GROUP)["pending"])

    def stream_events(self) -> list[dict[str, str]]:
        return [fields for _, fields in self.redis.xrange(STREAM)]

    def wait_until(self, done: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            if done():
                return True
            time.sleep(0.05)
        return done()

    def wait_until_settled(self, done: Callable[[], bool], progress: Callable[[], int]) -> None:
        """Until ``done()`` with nothing pending — or nothing pending and no progress for a while.

        The second way out is what a lost message looks like: nothing left to deliver or claim,
        and the count stuck. Waiting 10 × min_idle_ms for progress cannot cut a healthy run short.
        """
        quiet_s = 10 * MIN_IDLE_MS / 1000
        last, last_change = progress(), time.monotonic()

        def settled() -> bool:
            nonlocal last, last_change
            if self.pending():
                return False
            if done():
                return True
            now, current = time.monotonic(), progress()
            if current != last:
                last, last_change = current, now
            return now - last_change > quiet_s

        self.wait_until(settled)

    def wait_until_disconnected(self, application_name: str) -> None:
        """A killed client's session (and its row locks) ends when PostgreSQL reads the EOF."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            self.wait_until(lambda: not conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %s", (application_name,)).fetchone())

    def close(self) -> None:
        stop_all(self.processes)
        self.redis.close()


def event_number(event: dict[str, str]) -> int:
    """The producer's running number ``n`` of a stream event (its payload), whatever the outbox id."""
    return int(json.loads(event["payload"])["n"])


@pytest.fixture
def rig(lab_database_url: str, redis_url: str) -> Iterator[Rig]:
    made = Rig(lab_database_url, redis_url)
    yield made
    made.close()


def consumer_drill(rig: Rig, die_at: str) -> tuple[list[str], Counter[str], list[RunningProcess]]:
    """Three consumers under a steady stream of events; c1 kills itself at ``die_at`` on its 20th."""
    doomed, *survivors = rig.start(
        rig.command("consume", name="c1", die_at=die_at, die_on=20, min_idle_ms=MIN_IDLE_MS),
        rig.command("consume", name="c2", min_idle_ms=MIN_IDLE_MS),
        rig.command("consume", name="c3", min_idle_ms=MIN_IDLE_MS))
    published: list[str] = []
    producer = threading.Thread(target=lambda: published.extend(rig.publish_events(EVENTS, 0.002)))
    producer.start()
    rig.expect_killed(doomed, f"consumer c1 (--die-at {die_at} --die-on 20)")
    producer.join()
    rig.wait_until_settled(lambda: set(rig.effects()) >= set(published), lambda: sum(rig.effects().values()))
    for process in survivors:  # stop them before counting, so nothing changes under the count
        process.stop()
    return published, rig.effects(), survivors


def test_a_consumer_killed_after_its_effect_before_its_ack_applies_nothing_twice(rig: Rig) -> None:
    published, effects, survivors = consumer_drill(rig, "after-effect")
    lost = [event_id for event_id in published if event_id not in effects]
    twice = {event_id: times for event_id, times in effects.items() if times > 1}

    assert not twice, (
        f"expected every effect applied exactly once; after consumer c1 was killed between its effect "
        f"and its ack, {len(twice)} events were applied more than once: {dict(list(twice.items())[:5])}. "
        f"The un-acked message was delivered again — that is at-least-once delivery working. The "
        f"consumer must recognise it: record the event id under a unique constraint in the effect's "
        f"transaction. See {LESSON}, section 'Idempotent consumers'.")
    assert not lost, (
        f"expected all {len(published)} events applied; {len(lost)} never were (e.g. {lost[:5]}), "
        f"{rig.pending()} still pending. A dead consumer's messages must be claimed by the others "
        f"after min_idle_ms. Survivor output:\n{survivors[0].output(last_lines=5)}")


def test_a_consumer_killed_mid_effect_loses_nothing(rig: Rig) -> None:
    published, effects, _ = consumer_drill(rig, "during-effect")
    lost = [event_id for event_id in published if event_id not in effects]
    twice = {event_id: times for event_id, times in effects.items() if times > 1}

    assert not lost, (
        f"expected all {len(published)} events applied after consumer c1 was killed in the middle of an "
        f"effect (rolled back by its death); {len(lost)} were lost: {lost[:5]}. If the message was "
        f"acked before the handler ran, nobody will ever deliver it again: ack after the effect. "
        f"See {LESSON}, section 'Consumer groups and acks'.")
    assert not twice, f"expected each effect once; applied more than once: {dict(list(twice.items())[:5])}"


def test_a_relay_killed_after_publish_before_mark_republishes_and_loses_nothing(rig: Rig) -> None:
    # The relay first: it must be ready (idle) before the events it will die on exist.
    # It waits for a backlog of 50 rows, so its batches are full and publish 25 is mid-batch.
    (doomed,) = rig.start(rig.command("relay", name="r1", batch_size=BATCH_SIZE, backlog=50,
                                      die_after_publishes=25))
    producer = rig.launch(rig.command("produce", name="p1", count=EVENTS, keys=KEYS))
    rig.expect_killed(doomed, "relay r1 (--die-after-publishes 25)", feeder=producer)
    rig.wait_until_disconnected("drill-relay-r1")
    (replacement,) = rig.start(rig.command("relay", name="r2", batch_size=BATCH_SIZE))
    assert producer.wait(timeout=SETTLE_TIMEOUT_S) == 0, f"the producer failed:\n{producer.output(8)}"
    committed = set(range(EVENTS))  # the producer commits event n = 0 … EVENTS - 1, each with its order
    rig.wait_until_settled(lambda: {event_number(e) for e in rig.stream_events()} >= committed,
                           lambda: rig.redis.xlen(STREAM))
    replacement.stop()

    events = rig.stream_events()
    times = Counter(event_number(event) for event in events)
    lost = sorted(committed - set(times))
    twice = sorted(n for n, count in times.items() if count > 1)
    assert not lost, (
        f"expected every committed event on the stream; {len(lost)} of {EVENTS} were lost (e.g. events "
        f"{lost[:5]}) when relay r1 was killed right after its 25th publish. Rows marked published "
        f"before they were published are gone for good: publish the batch, then mark it, in the "
        f"transaction that locked it. See {LESSON}, section 'The relay'.")
    assert len(twice) <= BATCH_SIZE, (
        f"expected at most one batch ({BATCH_SIZE}) republished after the kill; {len(twice)} events "
        f"appear twice: {twice[:12]}")
    first_seqs: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for event in events:
        if event["event_id"] not in seen:  # the first time each event appears
            seen.add(event["event_id"])
            first_seqs[event["key"]].append(json.loads(event["payload"])["seq"])
    disordered = {key: seqs for key, seqs in first_seqs.items() if seqs != sorted(seqs)}
    assert not disordered, (
        f"expected one relay to keep each key's events in commit order (duplicates aside); out of "
        f"order: {dict(list(disordered.items())[:2])}. Publish each batch ORDER BY id. See {LESSON}, "
        "section 'Ordering per key'.")


def test_the_whole_pipeline_applies_every_committed_event_once_through_both_kills(rig: Rig) -> None:
    # Producer → outbox → relay (killed after a publish) → stream → consumers (c1 killed after an
    # effect) → effects. The relay and consumers start first, idle, before the events exist.
    relay, c1, *others = rig.start(
        rig.command("relay", name="r1", batch_size=BATCH_SIZE, backlog=50, die_after_publishes=25),
        rig.command("consume", name="c1", die_at="after-effect", die_on=20, min_idle_ms=MIN_IDLE_MS),
        rig.command("consume", name="c2", min_idle_ms=MIN_IDLE_MS),
        rig.command("consume", name="c3", min_idle_ms=MIN_IDLE_MS))
    producer = rig.launch(rig.command("produce", name="p1", count=EVENTS, keys=KEYS))
    rig.expect_killed(relay, "relay r1 (--die-after-publishes 25)", feeder=producer)
    rig.wait_until_disconnected("drill-relay-r1")
    (replacement,) = rig.start(rig.command("relay", name="r2", batch_size=BATCH_SIZE))
    rig.expect_killed(c1, "consumer c1 (--die-at after-effect --die-on 20)")
    assert producer.wait(timeout=SETTLE_TIMEOUT_S) == 0, f"the producer failed:\n{producer.output(8)}"

    committed = {(f"k{n % KEYS}", n // KEYS) for n in range(EVENTS)}  # (key, seq) of each event
    rig.wait_until_settled(lambda: set(rig.applied()) >= committed, lambda: sum(rig.applied().values()))
    for process in [replacement, *others]:
        process.stop()
    applied = rig.applied()
    lost = sorted(committed - set(applied))
    twice = {event: times for event, times in applied.items() if times > 1}

    assert not lost and not twice, (
        f"expected each of the {EVENTS} committed events applied exactly once, end to end, after a relay "
        f"was killed between publish and mark and a consumer between effect and ack; {len(lost)} never "
        f"applied (e.g. {lost[:4]}), {len(twice)} applied more than once (e.g. {list(twice)[:4]}). The "
        f"relay may publish twice; the idempotent consumer must absorb it. See {LESSON}, section "
        "'Idempotent consumers'.")
