"""Lab: the transactional outbox — the event commits with the write; relays publish it, never twice.

Every test uses real PostgreSQL connections; the concurrent ones give each relay its own
connection and run them as asyncio tasks, so the relays really overlap inside PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import psycopg
import pytest

from labs.week10_queues_streams.outbox import OutboxEvent, add_event, ensure_schema, relay_batch

LESSON = "weeks/10-queues-streams/README.md"
Connect = Callable[[], Awaitable[psycopg.AsyncConnection]]


async def fresh_tables(conn: psycopg.AsyncConnection) -> None:
    await conn.execute("DROP TABLE IF EXISTS outbox, orders")
    await ensure_schema(conn)
    await conn.execute("CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL)")


async def seed(conn: psycopg.AsyncConnection, count: int) -> list[int]:
    """``count`` events, each in its own committed transaction with its order."""
    ids = []
    for n in range(count):
        async with conn.transaction():
            await conn.execute("INSERT INTO orders (customer) VALUES (%s)", (f"c{n}",))
            ids.append(await add_event(conn, key=f"k{n % 7}", type="order.placed", payload={"n": n}))
    return ids


class Collector:
    """A publish function that remembers what it was given, in order."""

    def __init__(self) -> None:
        self.events: list[OutboxEvent] = []

    async def __call__(self, event: OutboxEvent) -> None:
        self.events.append(event)

    @property
    def ids(self) -> list[int]:
        return [event.id for event in self.events]


def test_the_event_commits_with_the_write(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)
            async with conn.transaction():
                await conn.execute("INSERT INTO orders (customer) VALUES ('ada')")
                event_id = await add_event(conn, key="order-1", type="order.placed",
                                           payload={"customer": "ada", "total_cents": 4200})
            published = Collector()
            count = await relay_batch(conn, published)

            assert count == 1 and [(e.id, e.key, e.type, e.payload) for e in published.events] == [
                (event_id, "order-1", "order.placed", {"customer": "ada", "total_cents": 4200})], (
                f"expected the relay to publish the one committed event with its id, key, type and "
                f"payload; relay_batch returned {count} and published {published.events}. See {LESSON}, "
                "section 'The transactional outbox'.")
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, (
                "expected relay_batch to commit and leave the connection idle; got "
                f"{conn.info.transaction_status.name}")

    asyncio.run(scenario())


def test_a_rolled_back_write_leaves_no_event(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)
            with pytest.raises(RuntimeError):
                async with conn.transaction():
                    await conn.execute("INSERT INTO orders (customer) VALUES ('bob')")
                    await add_event(conn, key="order-2", type="order.placed", payload={"customer": "bob"})
                    raise RuntimeError("card declined: the whole order is rolled back")
            published = Collector()
            await relay_batch(conn, published)

            assert published.events == [], (
                f"expected no event for a rolled-back order; the relay published {published.events}. "
                f"add_event inserts in the caller's transaction and never commits on its own. See "
                f"{LESSON}, section 'The transactional outbox'.")

    asyncio.run(scenario())


def test_the_relay_publishes_in_id_order_and_marks_what_it_published(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)
            ids = await seed(conn, 25)
            published = Collector()
            counts = [await relay_batch(conn, published, batch_size=10) for _ in range(4)]

            assert counts == [10, 10, 5, 0], (
                f"expected batches of 10, 10, 5, then nothing left; relay_batch returned {counts}. "
                f"Published rows must be marked so the next batch skips them. See {LESSON}, section "
                "'The relay'.")
            assert published.ids == ids, (
                f"expected every event once, oldest first (ORDER BY id); got {published.ids}")

    asyncio.run(scenario())


def test_a_failed_publish_leaves_the_batch_for_the_next_run(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)
            ids = await seed(conn, 10)
            attempted = Collector()

            async def redis_goes_down(event: OutboxEvent) -> None:
                await attempted(event)
                if len(attempted.events) == 3:
                    raise ConnectionError("Redis went away mid-batch")

            with pytest.raises(ConnectionError):
                await relay_batch(conn, redis_goes_down, batch_size=10)
            retried = Collector()
            await relay_batch(conn, retried, batch_size=10)

            lost = sorted(set(ids) - set(attempted.ids[:2]) - set(retried.ids))
            assert not lost and retried.ids == ids, (
                f"expected the whole batch published again after a publish failed mid-batch (at "
                f"least once: the first 2 twice, none lost); the retry published {retried.ids}, "
                f"lost {lost}. Mark rows only after every publish succeeded, in the same transaction. "
                f"See {LESSON}, section 'The relay'.")

    asyncio.run(scenario())


async def run_relays(pg_connect: Connect, relays: int, batch_size: int, barrier_timeout_s: float
                     ) -> tuple[Counter[int], int]:
    """``relays`` relay loops at once; each one's first publish waits until all are publishing.

    Returns how often each event was published and how many relays were publishing together:
    ``relays`` when all met, else how many had a batch when the first one gave up waiting.
    """
    barrier = asyncio.Barrier(relays)
    met: list[int] = []
    together: list[int] = []
    published: Counter[int] = Counter()

    async def relay(index: int, conn: psycopg.AsyncConnection) -> None:
        first = True

        async def publish(event: OutboxEvent) -> None:
            nonlocal first
            if first:
                first = False
                met.append(index)
                try:
                    async with asyncio.timeout(barrier_timeout_s):
                        await barrier.wait()
                    together.append(relays)
                except (TimeoutError, asyncio.BrokenBarrierError):
                    together.append(len(met))
                    await barrier.abort()  # let the others go on: this check has failed
            published[event.id] += 1
            await asyncio.sleep(0)

        while await relay_batch(conn, publish, batch_size=batch_size):
            pass

    connections = [await pg_connect() for _ in range(relays)]  # connected first: they start together
    try:
        await asyncio.gather(*(relay(i, conn) for i, conn in enumerate(connections)))
    finally:
        for conn in connections:
            await conn.close()
    return published, min(together, default=0)


def test_concurrent_relays_never_publish_a_row_twice(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)
            ids = await seed(conn, 400)
        published, _ = await run_relays(pg_connect, relays=4, batch_size=20, barrier_timeout_s=5)
        twice = sorted(event_id for event_id, times in published.items() if times > 1)
        missing = sorted(set(ids) - set(published))

        assert not twice, (
            f"expected 4 relays running at once to publish each of 400 events once; {len(twice)} were "
            f"published more than once (e.g. {twice[:5]}). A plain SELECT lets every relay read the "
            f"same unpublished rows: lock them with FOR UPDATE SKIP LOCKED. See {LESSON}, section "
            "'The relay'.")
        assert not missing, f"expected all 400 events published; missing {missing[:10]}"

    asyncio.run(scenario())


def test_relays_share_the_work_with_skip_locked(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)
            await seed(conn, 200)
        published, together = await run_relays(pg_connect, relays=4, batch_size=20, barrier_timeout_s=5)

        assert together == 4, (
            f"expected 4 relays to be publishing at the same moment, each with its own batch; after 5 s "
            f"only {together} had a batch — the others were waiting for the first one's row locks. "
            f"FOR UPDATE without SKIP LOCKED serialises the relays; SKIP LOCKED lets each take rows "
            f"nobody holds. See {LESSON}, section 'The relay'.")
        assert sum(published.values()) == 200, f"expected 200 publishes; got {sum(published.values())}"

    asyncio.run(scenario())
