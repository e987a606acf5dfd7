"""MISTAKE: lock the source row, then the target row — in the order the request names them.

A→B locks A then waits for B while B→A holds B and waits for A: a cycle. PostgreSQL breaks it by
aborting one of them with 40P01, which this version does not retry. (Fails
`test_opposite_transfers_never_deadlock`.)
"""

from __future__ import annotations

import random
import time

import psycopg
from psycopg import errors


class InsufficientFunds(Exception):
    """The source account cannot cover the amount; nothing was changed."""


class UnknownAccount(LookupError):
    """The source or the target account does not exist; nothing was changed."""


def transfer(conn: psycopg.Connection, source: int, target: int, amount: int) -> None:
    if amount <= 0 or source == target:
        raise ValueError("bad transfer")
    for attempt in range(1, 21):
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                (balance,) = conn.execute(
                    "SELECT balance FROM accounts WHERE id = %s FOR UPDATE", (source,)).fetchone()
                if balance < amount:
                    raise InsufficientFunds(f"account {source} has {balance}")
                conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, source))
                conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, target))
            return
        except errors.SerializationFailure:
            if attempt == 20:
                raise
            time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
