"""Lab: transfers — money moves between accounts correctly under real concurrency.

Every test talks to a real PostgreSQL through real connections; the concurrent ones run one
thread per connection, the way a pool of request handlers would.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable

import psycopg
import pytest

from course.concurrently import run_together
from labs.week04_postgres_transactions import transfers as transfers_module
from labs.week04_postgres_transactions.transfers import InsufficientFunds, UnknownAccount, transfer

Connect = Callable[[], psycopg.Connection]
LESSON = "weeks/04-postgres-transactions/README.md"
ONE_TRANSACTION = f"see {LESSON}, section 'A transfer is one transaction'"
LOST_UPDATES = f"see {LESSON}, section 'Lost updates and FOR UPDATE'"
RETRYING = f"see {LESSON}, section 'Retrying serialization failures'"
DEADLOCKS = f"see {LESSON}, section 'Deadlocks and lock ordering'"


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
        f"{ONE_TRANSACTION.capitalize()}.")
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
        f"before writing, inside the transaction — {ONE_TRANSACTION}.")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, (
        "expected the refused transfer to roll back and leave the connection idle; got "
        f"{conn.info.transaction_status.name}")


@pytest.mark.parametrize(("source", "target", "amount"), [(1, 2, 0), (1, 2, -30), (1, 1, 30)],
                         ids=["zero", "negative", "to-itself"])
def test_invalid_transfers_are_refused_and_change_nothing(connect: Connect, accounts, source: int,
                                                          target: int, amount: int) -> None:
    accounts({1: 100, 2: 50})
    conn = connect()
    try:
        transfer(conn, source, target, amount)
        outcome = "it returned"
    except ValueError:
        outcome = "ValueError"
    except Exception as exc:
        if isinstance(exc, NotImplementedError):
            raise
        outcome = f"{type(exc).__name__}: {exc}"
    got = balances(conn)
    assert outcome == "ValueError" and got == {1: 100, 2: 50}, (
        f"expected transfer({source}, {target}, {amount}) to raise ValueError and change nothing; "
        f"{outcome}, balances {got}. A negative amount passes a funds check and moves money the "
        f"wrong way; a transfer to the same account debits and credits one row and can make money "
        f"vanish. Check the arguments before touching the database — {ONE_TRANSACTION}.")


def test_the_whole_balance_can_move(connect: Connect, accounts) -> None:
    accounts({1: 100, 2: 0})
    conn = connect()
    try:
        transfer(conn, 1, 2, 100)
    except InsufficientFunds as exc:
        pytest.fail(f"expected moving exactly the whole balance (100 of 100) to succeed; it raised "
                    f"InsufficientFunds({exc}). Insufficient means the balance is *below* the amount: "
                    f"balance < amount, not <= — {ONE_TRANSACTION}.", pytrace=False)
    got = balances(conn)
    assert got == {1: 0, 2: 100}, f"expected {{1: 0, 2: 100}} after emptying account 1; got {got}"


@pytest.mark.parametrize(("source", "target"), [(1, 99), (99, 1)], ids=["unknown-target", "unknown-source"])
def test_unknown_accounts_are_refused_and_change_nothing(connect: Connect, accounts, source: int,
                                                         target: int) -> None:
    accounts({1: 100, 2: 0})
    conn = connect()
    try:
        transfer(conn, source, target, 30)
        outcome = "it returned"
    except UnknownAccount:
        outcome = "UnknownAccount"
    except Exception as exc:
        if isinstance(exc, NotImplementedError):
            raise
        outcome = f"{type(exc).__name__}: {exc}"
    got = balances(conn)
    assert outcome == "UnknownAccount" and got == {1: 100, 2: 0}, (
        f"expected transfer({source}, {target}, 30) with account 99 missing to raise UnknownAccount "
        f"and change nothing; {outcome}, balances {got}. "
        + ("The source was debited and nothing credited: an UPDATE that matches no row is not an "
           "error — check that both rows exist (the locking SELECT returns them) before writing. "
           if got.get(1) == 70 else "")
        + "A missing account is not an empty one (InsufficientFunds) and not a KeyError from a "
        f"dict lookup — {ONE_TRANSACTION}.")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, (
        f"expected the refused transfer to leave the connection idle; got "
        f"{conn.info.transaction_status.name}")


# Every UPDATE of accounts fails the way a lost serialization race does, on every attempt.
ALWAYS_CONFLICT = """
CREATE OR REPLACE FUNCTION refuse_every_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'could not serialize access (the test refuses every attempt)'
        USING ERRCODE = 'serialization_failure';
END $$;
CREATE TRIGGER always_conflicts BEFORE UPDATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_every_update();
"""


def _timed(conn: psycopg.Connection) -> list[tuple[float, float, str | None]]:
    """Record (start, end, SQLSTATE or None) of every statement ``conn`` executes from now on."""
    timeline: list[tuple[float, float, str | None]] = []

    class TimedCursor(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):  # type: ignore[override]
            start, state = time.monotonic(), None
            try:
                return super().execute(query, params, **kwargs)
            except psycopg.Error as exc:
                state = exc.sqlstate
                raise
            finally:
                timeline.append((start, time.monotonic(), state))

    conn.cursor_factory = TimedCursor
    return timeline


def _always_failing_transfer(connect: Connect, accounts, monkeypatch: pytest.MonkeyPatch,
                             attempts: int) -> tuple[object, list[tuple[float, float, str | None]],
                                                     dict[int, int]]:
    accounts({1: 100, 2: 0})
    connect().execute(ALWAYS_CONFLICT)
    monkeypatch.setattr(transfers_module, "MAX_ATTEMPTS", attempts)
    conn = connect()
    timeline = _timed(conn)
    try:
        transfer(conn, 1, 2, 30)
        outcome: object = "returned normally"
    except NotImplementedError:
        raise
    except Exception as exc:
        outcome = exc
    return outcome, timeline, balances(connect())


def test_a_transfer_that_never_stops_conflicting_raises(connect: Connect, accounts,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    outcome, timeline, got = _always_failing_transfer(connect, accounts, monkeypatch, attempts=6)
    failures = sum(1 for *_, state in timeline if state == "40001")
    assert isinstance(outcome, psycopg.errors.SerializationFailure), (
        f"expected transfer() to raise the last SerializationFailure when all MAX_ATTEMPTS=6 "
        f"attempts fail (here a trigger refuses every UPDATE); it {outcome!r} after {failures} "
        f"failed attempt(s). A retry loop that simply ends returns as if the money had moved — "
        f"the caller reports success for a transfer that never happened. {RETRYING.capitalize()}.")
    assert failures == 6, (
        f"expected exactly MAX_ATTEMPTS=6 attempts (the test set it; read it when transfer() "
        f"runs); the transaction ran {failures} time(s) — {RETRYING}.")
    assert got == {1: 100, 2: 0}, (
        f"expected balances untouched after the failed transfer; got {got} — {RETRYING}.")


def test_retries_back_off_with_jitter(connect: Connect, accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    outcome, timeline, _ = _always_failing_transfer(connect, accounts, monkeypatch, attempts=12)
    if isinstance(outcome, Exception) and not isinstance(outcome, psycopg.errors.SerializationFailure):
        pytest.fail(f"expected only SerializationFailure from an always-conflicting transfer; "
                    f"got {outcome!r} — {RETRYING}.")
    # The pause after each failed attempt: from the failing statement to the next one sent.
    waits = [timeline[i + 1][0] - end for i, (_, end, state) in enumerate(timeline[:-1])
             if state == "40001"]
    caps = [min(transfers_module.MAX_DELAY_S, transfers_module.BASE_DELAY_S * 2**attempt)
            for attempt in range(1, 12)]
    shown = ", ".join(f"{w * 1000:.0f}" for w in waits)
    assert len(waits) == 11, (
        f"expected 11 retries after 12 failing attempts (MAX_ATTEMPTS=12); saw {len(waits)} — {RETRYING}.")
    assert sum(waits) >= 0.06, (
        f"expected the 11 retries to wait uniform(0, min({transfers_module.MAX_DELAY_S}, "
        f"{transfers_module.BASE_DELAY_S} × 2**attempt)) s each — about {sum(caps) / 2:.2f} s in "
        f"all; they waited {sum(waits) * 1000:.0f} ms ({shown} ms). Retrying at once collides "
        f"again with the same transactions — {RETRYING}.")
    spread = max(waits[5:]) - min(waits[5:])
    assert spread >= 0.01 and statistics.pstdev(waits[5:]) > 0.002, (
        f"expected jittered waits (full jitter: uniform from 0 to the cap); the last six, all capped "
        f"at {transfers_module.MAX_DELAY_S} s, were {shown.split(', ')[5:]} ms — within "
        f"{spread * 1000:.0f} ms of each other. Identical delays send colliding transactions back "
        f"in lockstep — {RETRYING}.")
    too_long = [(w, c) for w, c in zip(waits, caps, strict=True) if w > c + 1.0]
    assert not too_long, (
        f"expected no wait far beyond its cap min(MAX_DELAY_S, BASE_DELAY_S × 2**attempt); got (wait, cap) "
        f"{too_long} — {RETRYING}.")


def _wait_until_blocked(watcher: psycopg.Connection, worker: threading.Thread, timeout_s: float = 10) -> bool:
    """True once some other session of this database waits on a lock (the transfer is queued)."""
    deadline = time.monotonic() + timeout_s
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
    if isinstance(error, NotImplementedError):
        raise error  # the starter: one line, not a page
    assert error is None, (
        f"expected the transfer to succeed after the concurrent deposit committed; it raised "
        f"{type(error).__name__}: {error}. A serialization failure means 'run me again': retry "
        f"the whole transaction with backoff — {RETRYING}.")
    got = balances(watcher)
    assert got == {1: 170, 2: 30}, (
        f"expected {{1: 170, 2: 30}} (100 + 100 deposited - 30 moved); got {got}. "
        + ("The deposit was overwritten: a lost update. You read the balance, then wrote back a "
           "value computed from that stale read. Lock the rows with SELECT … FOR UPDATE (or use a "
           "stricter isolation level). " if got.get(1) == 70 else "")
        + f"{LOST_UPDATES.capitalize()}."
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
    if isinstance(error, NotImplementedError):
        raise error  # the starter: one line, not a page
    assert isinstance(error, InsufficientFunds) and got == {1: 20, 2: 0}, (
        f"expected InsufficientFunds and balances {{1: 20, 2: 0}}: a concurrent withdrawal of 80 "
        f"committed while the transfer of 50 ran, leaving 20; got "
        f"{'success' if error is None else type(error).__name__} and {got}. "
        + ("The funds check read the balance before the withdrawal and the UPDATE applied after it: "
           "check the balance on a row you have locked (SELECT … FOR UPDATE), or in the UPDATE's own "
           "WHERE. " if got.get(1, 0) < 0 else "")
        + f"{LOST_UPDATES.capitalize()}."
        + ("" if blocked else " (The transfer never waited for the withdrawer's row lock.)"))


def _hammer(connect: Connect, workers: int, job: Callable[[psycopg.Connection, int], None]) -> list[str]:
    """Run ``job(conn, worker_index)`` in ``workers`` threads, each with its own connection."""
    connections = [connect() for _ in range(workers)]
    outcomes = run_together(lambda index: job(connections[index], index), workers, timeout_s=120)
    return [f"{type(exc).__name__}: {next(iter(str(exc).splitlines()), '')}"
            for exc in outcomes if isinstance(exc, Exception)]


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
        f"(40001) and deadlocks (40P01) — {RETRYING}.")
    got = balances(connect())
    expected = dict(initial)
    for source, target, amount in moved:
        expected[source] -= amount
        expected[target] += amount
    assert sum(got.values()) == sum(initial.values()), (
        f"expected the total to stay {sum(initial.values())}; got {sum(got.values())} — money was "
        f"created or destroyed, the signature of a lost update — {LOST_UPDATES}.")
    negative = {k: v for k, v in got.items() if v < 0}
    assert not negative, (
        f"expected no negative balance; got {negative}: the funds check read a balance another "
        f"transfer was changing. Check it on a locked row — {LOST_UPDATES}.")
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
        f"{DEADLOCKS.capitalize()}.")
    assert not errors, (
        f"expected {4 * rounds} opposite transfers to all complete; got {errors[0]}. "
        f"{RETRYING.capitalize()}.")
    got = balances(connect())
    assert sum(got.values()) == 200_000, f"expected the total to stay 200000; got {got}"

