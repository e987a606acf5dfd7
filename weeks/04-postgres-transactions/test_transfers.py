"""Lab: transfers — money moves between accounts correctly under real concurrency.

Every test talks to a real PostgreSQL through real connections; the concurrent ones run one
thread per connection, the way a pool of request handlers would.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from labs.week04_postgres_transactions.transfers import InsufficientFunds, transfer

Connect = Callable[[], psycopg.Connection]
LESSON = "weeks/04-postgres-transactions/README.md"


@pytest.fixture
def accounts(connect: Connect) -> Callable[[dict[int, int]], None]:
    """Recreate ``accounts`` with the given balances. No CHECK (balance >= 0): your code is the guard."""
    admin = connect()

    def seed(balances: dict[int, int]) -> None:
        admin.execute("DROP TABLE IF EXISTS accounts")
        admin.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)")
        with admin.cursor() as cur:
            cur.executemany("INSERT INTO accounts VALUES (%s, %s)", list(balances.items()))

    return seed


def balances(conn: psycopg.Connection) -> dict[int, int]:
    return dict(conn.execute("SELECT id, balance FROM accounts ORDER BY id").fetchall())


def test_transfer_moves_money_between_accounts(connect: Connect, accounts) -> None:
    accounts({1: 100, 2: 5})
    conn = connect()
    transfer(conn, 1, 2, 30)
    got = balances(conn)
    assert got == {1: 70, 2: 35}, (
        f"expected {{1: 70, 2: 35}} after moving 30 from account 1 to 2; got {got}. "
        f"Look at '1. A transfer is one transaction' in {LESSON}.")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, (
        "expected the connection to be idle after transfer() (committed, no transaction left open); "
        f"got {conn.info.transaction_status.name}")


def test_insufficient_funds_is_refused_and_changes_nothing(connect: Connect, accounts) -> None:
    accounts({1: 10, 2: 0})
    conn = connect()
    with pytest.raises(InsufficientFunds):
        transfer(conn, 1, 2, 50)
    got = balances(conn)
    assert got == {1: 10, 2: 0}, (
        f"expected balances untouched after a refused transfer; got {got} — check the balance "
        f"before writing, inside the transaction. See '1. A transfer is one transaction' in {LESSON}.")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, (
        "expected the refused transfer to roll back and leave the connection idle; got "
        f"{conn.info.transaction_status.name}")


def _wait_until_blocked(watcher: psycopg.Connection, worker: threading.Thread, timeout: float = 10) -> bool:
    """True once some other session of this database waits on a lock (the transfer is queued)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.is_alive():
        waiting = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchone()[0]
        if waiting:
            return True
        time.sleep(0.01)
    return False


def test_a_concurrent_deposit_is_not_lost(connect: Connect, accounts) -> None:
    """Another transaction deposits into the source while the transfer runs; both must count."""
    accounts({1: 100, 2: 0})
    depositor, watcher, conn = connect(), connect(), connect()
    outcome: dict[str, BaseException | None] = {}

    def run_transfer() -> None:
        try:
            transfer(conn, 1, 2, 30)
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc

    with depositor.transaction():
        depositor.execute("UPDATE accounts SET balance = balance + 100 WHERE id = 1")
        worker = threading.Thread(target=run_transfer)
        worker.start()
        blocked = _wait_until_blocked(watcher, worker)
    # The deposit is committed now; the transfer (if it waited) continues.
    worker.join(timeout=30)
    assert not worker.is_alive(), "transfer() did not finish within 30 s after the deposit committed"
    error = outcome.get("error")
    assert error is None, (
        f"expected the transfer to succeed after the concurrent deposit committed; it raised "
        f"{type(error).__name__}: {error}. A serialization failure means 'run me again': retry "
        f"the whole transaction with backoff. See '3. Retrying serialization failures' in {LESSON}.")
    got = balances(watcher)
    assert got == {1: 170, 2: 30}, (
        f"expected {{1: 170, 2: 30}} (100 + 100 deposited - 30 moved); got {got}. "
        + ("The deposit was overwritten: a lost update. You read the balance, then wrote back a "
           "value computed from that stale read. Lock the rows with SELECT … FOR UPDATE (or use a "
           "stricter isolation level). " if got.get(1) == 70 else "")
        + f"See '2. Lost updates and FOR UPDATE' in {LESSON}."
        + ("" if blocked else " (The transfer never waited for the depositor's row lock.)"))


def test_a_concurrent_withdrawal_is_seen_by_the_funds_check(connect: Connect, accounts) -> None:
    """Another transaction withdraws from the source while the transfer runs; the check must see it."""
    accounts({1: 100, 2: 0})
    withdrawer, watcher, conn = connect(), connect(), connect()
    outcome: dict[str, BaseException | None] = {}

    def run_transfer() -> None:
        try:
            transfer(conn, 1, 2, 50)
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc

    with withdrawer.transaction():
        withdrawer.execute("UPDATE accounts SET balance = balance - 80 WHERE id = 1")
        worker = threading.Thread(target=run_transfer)
        worker.start()
        blocked = _wait_until_blocked(watcher, worker)
    # The withdrawal is committed now: account 1 holds 20, too little for the transfer of 50.
    worker.join(timeout=30)
    assert not worker.is_alive(), "transfer() did not finish within 30 s after the withdrawal committed"
    got = balances(watcher)
    error = outcome.get("error")
    assert isinstance(error, InsufficientFunds) and got == {1: 20, 2: 0}, (
        f"expected InsufficientFunds and balances {{1: 20, 2: 0}}: a concurrent withdrawal of 80 "
        f"committed while the transfer of 50 ran, leaving 20; got "
        f"{'success' if error is None else type(error).__name__} and {got}. "
        + ("The funds check read the balance before the withdrawal and the UPDATE applied after it: "
           "check the balance on a row you have locked (SELECT … FOR UPDATE), or in the UPDATE's own "
           "WHERE. " if got.get(1, 0) < 0 else "")
        + f"See '2. Lost updates and FOR UPDATE' in {LESSON}."
        + ("" if blocked else " (The transfer never waited for the withdrawer's row lock.)"))


def _hammer(connect: Connect, workers: int, job: Callable[[psycopg.Connection, int], None]) -> list[str]:
    """Run ``job(conn, worker_index)`` in ``workers`` threads, each with its own connection."""
    connections = [connect() for _ in range(workers)]
    errors: list[str] = []
    start = threading.Barrier(workers)

    def work(index: int) -> None:
        start.wait()
        try:
            job(connections[index], index)
        except Exception as exc:
            first_line = next(iter(str(exc).splitlines()), "")
            errors.append(f"{type(exc).__name__}: {first_line}")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, range(workers)))
    return errors


def test_many_concurrent_transfers_conserve_money(connect: Connect, accounts) -> None:
    initial = {n: 1000 for n in range(1, 9)} | {9: 60, 10: 0}
    accounts(initial)
    moved: list[tuple[int, int, int]] = []  # (source, target, amount) of every transfer that succeeded

    def job(conn: psycopg.Connection, index: int) -> None:
        rng = random.Random(index)
        for _ in range(30):
            source, target = rng.sample(sorted(initial), 2)
            amount = rng.randint(1, 150)
            try:
                transfer(conn, source, target, amount)
                moved.append((source, target, amount))
            except InsufficientFunds:
                pass  # a correct answer: accounts 9 and 10 start nearly empty on purpose

    errors = _hammer(connect, 8, job)
    assert not errors, (
        f"expected every transfer to succeed or raise InsufficientFunds; {len(errors)} raised "
        f"something else, e.g. {Counter(errors).most_common(3)}. Retry serialization failures "
        f"(40001) and deadlocks (40P01). See '3. Retrying serialization failures' in {LESSON}.")
    got = balances(connect())
    expected = dict(initial)
    for source, target, amount in moved:
        expected[source] -= amount
        expected[target] += amount
    assert sum(got.values()) == sum(initial.values()), (
        f"expected the total to stay {sum(initial.values())}; got {sum(got.values())} — money was "
        f"created or destroyed, the signature of a lost update. See '2. Lost updates and FOR UPDATE' "
        f"in {LESSON}.")
    negative = {k: v for k, v in got.items() if v < 0}
    assert not negative, (
        f"expected no negative balance; got {negative}: the funds check read a balance another "
        f"transfer was changing. Check it on a locked row. See '2. Lost updates and FOR UPDATE' in {LESSON}.")
    assert got == expected, (
        f"expected the balances to equal the initial ones plus the {len(moved)} successful transfers: "
        f"{expected}; got {got}. A transfer reported success but did not apply (or applied twice).")


def test_opposite_transfers_never_deadlock(connect: Connect, accounts) -> None:
    """Pairs of transfers A→B and B→A released at the same instant, round after round."""
    accounts({1: 100_000, 2: 100_000})
    rounds = 25
    barrier = threading.Barrier(4)

    def job(conn: psycopg.Connection, index: int) -> None:
        source, target = (1, 2) if index % 2 == 0 else (2, 1)
        try:
            for _ in range(rounds):
                barrier.wait(timeout=30)
                transfer(conn, source, target, 1 + index)
        except Exception:
            barrier.abort()  # release the other threads at once instead of after the timeout
            raise

    errors = [e for e in _hammer(connect, 4, job) if not e.startswith("BrokenBarrierError")]
    deadlocks = [e for e in errors if e.startswith("DeadlockDetected")]
    assert not deadlocks, (
        f"expected {4 * rounds} opposite transfers to all complete; {len(deadlocks)} died in a deadlock "
        f"({deadlocks[0]}). Two transfers that lock their rows in request order (source first) wait for "
        f"each other in a cycle; lock in one global order (lowest id first) and retry 40P01 anyway. "
        f"See '4. Deadlocks and lock ordering' in {LESSON}.")
    assert not errors, (
        f"expected {4 * rounds} opposite transfers to all complete; got {errors[0]}. "
        f"See '3. Retrying serialization failures' in {LESSON}.")
    got = balances(connect())
    assert sum(got.values()) == 200_000, f"expected the total to stay 200000; got {got}"

