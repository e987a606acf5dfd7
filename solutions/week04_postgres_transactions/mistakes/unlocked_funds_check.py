"""MISTAKE: atomic UPDATEs, ordered, retried — but the funds check reads a row it has not locked.

``UPDATE … SET balance = balance - x`` never loses a concurrent update, so the total is conserved
and the deposit test passes. The check before it is the hole: it reads the committed balance
without a lock, a concurrent withdrawal commits, and the UPDATE then applies on top of it — the
balance goes negative. (Fails `test_a_concurrent_withdrawal_is_seen_by_the_funds_check`.)
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
    for attempt in range(1, 31):
        try:
            with conn.transaction():
                (balance,) = conn.execute(
                    "SELECT balance FROM accounts WHERE id = %s", (source,)).fetchone()
                if balance < amount:
                    raise InsufficientFunds(f"account {source} has {balance}")
                for account, delta in sorted([(source, -amount), (target, amount)]):
                    conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (delta, account))
            return
        except (errors.SerializationFailure, errors.DeadlockDetected):
            if attempt == 30:
                raise
            time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
