"""Move money between accounts so that concurrent transfers never lose or invent a cent.

The recipe, in the order it matters:

* one transaction per attempt, at SERIALIZABLE, so any interleaving PostgreSQL cannot make
  equivalent to a serial order is refused instead of silently committed;
* both rows locked with ``SELECT … FOR UPDATE`` in ascending id order, so two opposite transfers
  queue behind each other instead of deadlocking (and fewer attempts need a retry);
* the balance is checked *after* the lock is held, on the row we are about to change;
* SQLSTATE 40001 (serialization_failure) and 40P01 (deadlock_detected) mean "this attempt lost a
  race, nothing was written": roll back, wait a jittered, growing delay, and run it again.
"""

from __future__ import annotations

import random
import time

import psycopg
from psycopg import errors

RETRYABLE = (errors.SerializationFailure, errors.DeadlockDetected)
MAX_ATTEMPTS = 30  # generous: under heavy contention one transfer can lose many races in a row
BASE_DELAY_S = 0.002  # the backoff cap before the first retry; it doubles with each attempt …
MAX_DELAY_S = 0.1  # … up to this


class InsufficientFunds(Exception):
    """The source account cannot cover the amount; nothing was changed."""


class UnknownAccount(LookupError):
    """The source or the target account does not exist; nothing was changed."""


def transfer(conn: psycopg.Connection, source: int, target: int, amount: int) -> None:
    """Move ``amount`` from account ``source`` to account ``target`` atomically.

    ``conn`` is an autocommit connection owned by the caller (one per thread). Raises
    ``InsufficientFunds`` when the source balance is below ``amount``, ``UnknownAccount`` for an
    unknown account and ``ValueError`` for a non-positive amount or a self-transfer. A retryable
    error that persists through ``MAX_ATTEMPTS`` attempts is raised: the transfer did not happen.
    """
    if amount <= 0:
        raise ValueError(f"amount must be positive, got {amount}")
    if source == target:
        raise ValueError("source and target must be different accounts")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            _attempt(conn, source, target, amount)
            return
        except RETRYABLE:
            if attempt == MAX_ATTEMPTS:
                raise
            # Full jitter: spread the retries of colliding transfers so they do not collide again.
            time.sleep(random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt)))


def _attempt(conn: psycopg.Connection, source: int, target: int, amount: int) -> None:
    with conn.transaction():
        # Per transaction, not per connection: the caller's connection keeps its own settings.
        conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        # ORDER BY id puts LockRows above the sort: rows are locked lowest id first, whatever
        # the direction of the transfer, so two transfers can never wait on each other in a cycle.
        rows = conn.execute(
            "SELECT id, balance FROM accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            ([source, target],),
        ).fetchall()
        balances = dict(rows)
        missing = {source, target} - balances.keys()
        if missing:
            raise UnknownAccount(f"no such account: {sorted(missing)}")
        if balances[source] < amount:
            raise InsufficientFunds(f"account {source} has {balances[source]}, needs {amount}")
        conn.execute(
            "UPDATE accounts SET balance = balance + CASE id WHEN %(source)s THEN -%(amount)s"
            " ELSE %(amount)s END WHERE id IN (%(source)s, %(target)s)",
            {"source": source, "target": target, "amount": amount},
        )
