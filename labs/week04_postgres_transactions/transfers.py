"""Move money between accounts so that concurrent transfers never lose or invent a cent.

Your ``transfer`` will be called from many threads at once, each with its own connection, on a
table ``accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)`` with no CHECK constraint: your
code is the only thing standing between the ledger and a negative balance.

In the order you will need them:
see weeks/04-postgres-transactions/README.md, section 'A transfer is one transaction';
see weeks/04-postgres-transactions/README.md, section 'Lost updates and FOR UPDATE';
see weeks/04-postgres-transactions/README.md, section 'Retrying serialization failures';
see weeks/04-postgres-transactions/README.md, section 'Deadlocks and lock ordering'.
"""

from __future__ import annotations

import psycopg

# transfer() reads these when it runs (a test lowers MAX_ATTEMPTS to keep itself fast).
MAX_ATTEMPTS = 30  # how many times the transaction runs before the last error is raised
BASE_DELAY_S = 0.002  # the backoff cap before the first retry; it doubles with each attempt …
MAX_DELAY_S = 0.1  # … up to this


class InsufficientFunds(Exception):
    """The source account cannot cover the amount; nothing was changed."""


class UnknownAccount(LookupError):
    """The source or the target account does not exist; nothing was changed."""


def transfer(conn: psycopg.Connection, source: int, target: int, amount: int) -> None:
    """Move ``amount`` from account ``source`` to account ``target`` atomically.

    ``conn`` is an autocommit connection owned by the caller (one per thread): run your own
    transaction on it and leave it idle when you return. Requirements:

    * both balances change in one transaction, or neither does;
    * raise ``InsufficientFunds`` (changing nothing) when the source balance is below ``amount``
      — decided on a balance no concurrent transfer can change under you; moving exactly the
      whole balance is allowed;
    * raise ``UnknownAccount`` (changing nothing) when either account does not exist;
    * ``ValueError`` (before touching the database) for ``amount <= 0`` or ``source == target``;
    * a concurrent update is never lost, and the total across accounts is conserved;
    * serialization failures (SQLSTATE 40001) and deadlocks (40P01) are retried — the whole
      transaction, up to ``MAX_ATTEMPTS`` attempts in all, sleeping
      ``random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt))`` before attempt
      ``attempt + 1`` (exponential backoff, full jitter) — so callers only ever see success or
      ``InsufficientFunds``; when the last attempt fails too, raise its error (never return as
      if the money moved);
    * transfers A→B and B→A running together must not deadlock.
    """
    raise NotImplementedError(
        "transfer — see weeks/04-postgres-transactions/README.md, section 'A transfer is one transaction'")
