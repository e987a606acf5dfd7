"""Move money between accounts so that concurrent transfers never lose or invent a cent.

Your ``transfer`` will be called from many threads at once, each with its own connection, on a
table ``accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)`` with no CHECK constraint: your
code is the only thing standing between the ledger and a negative balance.
"""

from __future__ import annotations

import psycopg

LESSON = "see weeks/04-postgres-transactions/README.md"


class InsufficientFunds(Exception):
    """The source account cannot cover the amount; nothing was changed."""


def transfer(conn: psycopg.Connection, source: int, target: int, amount: int) -> None:
    """Move ``amount`` from account ``source`` to account ``target`` atomically.

    ``conn`` is an autocommit connection owned by the caller (one per thread): run your own
    transaction on it and leave it idle when you return. Requirements:

    * both balances change in one transaction, or neither does;
    * raise ``InsufficientFunds`` (changing nothing) when the source balance is below ``amount``
      — decided on a balance no concurrent transfer can change under you;
    * a concurrent update is never lost, and the total across accounts is conserved;
    * serialization failures (SQLSTATE 40001) and deadlocks (40P01) are retried — the whole
      transaction, with a growing, jittered delay — so callers only ever see success or
      ``InsufficientFunds``; and transfers A→B and B→A running together must not deadlock;
    * ``ValueError`` for a non-positive amount or ``source == target``.
    """
    raise NotImplementedError(f"transfer: {LESSON}, sections '1. A transfer is one transaction' to "
                              "'4. Deadlocks and lock ordering'")
