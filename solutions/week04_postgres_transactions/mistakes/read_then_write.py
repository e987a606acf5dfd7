"""MISTAKE: read the balance, compute the new one in Python, write it back — no lock.

Under READ COMMITTED two transfers both read 100, both write their own result, and one of the
two updates is silently lost. (The test names `test_a_concurrent_deposit_is_not_lost`.)
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
        (source_balance,) = conn.execute("SELECT balance FROM accounts WHERE id = %s", (source,)).fetchone()
        (target_balance,) = conn.execute("SELECT balance FROM accounts WHERE id = %s", (target,)).fetchone()
        if source_balance < amount:
            raise InsufficientFunds(f"account {source} has {source_balance}")
        conn.execute("UPDATE accounts SET balance = %s WHERE id = %s", (source_balance - amount, source))
        conn.execute("UPDATE accounts SET balance = %s WHERE id = %s", (target_balance + amount, target))
