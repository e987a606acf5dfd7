"""Lab: an idempotent consumer — the effect and the processed id commit together, once.

The effect in every test credits an account; a duplicate effect shows up as money from nowhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import psycopg
import pytest

from labs.week10_queues_streams.consumer import apply_once, ensure_schema

LESSON = "weeks/10-queues-streams/README.md"
Connect = Callable[[], Awaitable[psycopg.AsyncConnection]]


async def fresh_tables(conn: psycopg.AsyncConnection) -> None:
    await conn.execute("DROP TABLE IF EXISTS processed_events, accounts")
    await ensure_schema(conn)
    await conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)")
    await conn.execute("INSERT INTO accounts VALUES (1, 0)")


async def balance(conn: psycopg.AsyncConnection) -> int:
    cursor = await conn.execute("SELECT balance FROM accounts WHERE id = 1")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


def credit(cents: int, *, hold_s: float = 0.0) -> Callable[[psycopg.AsyncConnection], Awaitable[None]]:
    """The effect: credit account 1, optionally holding the transaction open a while."""
    async def effect(conn: psycopg.AsyncConnection) -> None:
        await conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = 1", (cents,))
        if hold_s:
            await conn.execute("SELECT pg_sleep(%s)", (hold_s,))
    return effect


def test_a_redelivered_event_is_applied_once(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)
            results = [await apply_once(conn, "billing", "evt-1", credit(500)) for _ in range(3)]
            got = await balance(conn)

            assert got == 500 and results == [True, False, False], (
                f"expected one credit of 500 for event evt-1 delivered 3 times, and apply_once to say "
                f"True then False, False; balance {got}, results {results}. See {LESSON}, section "
                "'Idempotent consumers'.")
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, (
                f"expected the connection idle after apply_once; got {conn.info.transaction_status.name}")

    asyncio.run(scenario())


def test_concurrent_duplicates_are_applied_once(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)
            workers = [await pg_connect() for _ in range(6)]
            try:
                results = await asyncio.gather(*(
                    apply_once(worker, "billing", "evt-2", credit(500, hold_s=0.3)) for worker in workers))
            finally:
                for worker in workers:
                    await worker.close()
            got = await balance(conn)

            assert got == 500 and sorted(results) == [False] * 5 + [True], (
                f"expected 6 consumers handling the same event at the same moment to credit it once; "
                f"balance {got} (500 per credit), results {results}. Checking 'was it processed?' and "
                f"then inserting is two steps: all six see 'no'. Let a unique constraint decide, in the "
                f"same transaction as the effect. See {LESSON}, section 'Idempotent consumers'.")

    asyncio.run(scenario())


def test_a_failed_effect_records_nothing_and_can_be_retried(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)

            async def credit_then_crash(tx: psycopg.AsyncConnection) -> None:
                await credit(500)(tx)
                raise TimeoutError("ledger service timed out after the credit")

            with pytest.raises(TimeoutError):
                await apply_once(conn, "billing", "evt-3", credit_then_crash)
            after_failure = await balance(conn)
            retried = await apply_once(conn, "billing", "evt-3", credit(500))
            got = await balance(conn)

            assert after_failure == 0, (
                f"expected a failed effect to leave no trace (it and the processed id roll back "
                f"together); the balance was {after_failure} after it raised. See {LESSON}, section "
                "'Idempotent consumers'.")
            assert retried and got == 500, (
                f"expected the redelivery after a failure to apply the event (nothing was recorded); "
                f"apply_once returned {retried}, balance {got}. If the id is recorded in its own "
                f"transaction, a failed effect marks the event done and the retry skips it: lost.")

    asyncio.run(scenario())


def test_each_consumer_group_applies_an_event_once(pg_connect: Connect) -> None:
    async def scenario() -> None:
        async with await pg_connect() as conn:
            await fresh_tables(conn)
            results = [await apply_once(conn, group, "evt-4", credit(100))
                       for group in ["billing", "emails", "billing", "emails"]]
            got = await balance(conn)

            assert results == [True, True, False, False] and got == 200, (
                f"expected billing and emails each to apply evt-4 once (the processed id is per "
                f"consumer); results {results}, balance {got}. See {LESSON}, section 'Idempotent "
                "consumers'.")

    asyncio.run(scenario())
