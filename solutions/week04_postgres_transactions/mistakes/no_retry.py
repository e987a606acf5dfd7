"""MISTAKE: SERIALIZABLE and ordered locks — but a serialization failure goes straight to the caller.

PostgreSQL is right to refuse the attempt; the bug is treating "try again" as "failed". Under any
contention a share of perfectly valid transfers now error out. (Fails
`test_a_concurrent_deposit_is_not_lost`.)
"""

from __future__ import annotations

import psycopg


class InsufficientFunds(Exception):
    """The source account cannot cover the amount; nothing was changed."""


class UnknownAccount(LookupError):
    """The source or the target account does not exist; nothing was changed."""


def transfer(conn: psycopg.Connection, source: int, target: int, amount: int) -> None:
    if amount <= 0 or source == target:
        raise ValueError("bad transfer")
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        balances = dict(conn.execute(
            "SELECT id, balance FROM accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            ([source, target],),
        ).fetchall())
        if balances[source] < amount:
            raise InsufficientFunds(f"account {source} has {balances[source]}")
        conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, source))
        conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, target))
