"""Shared fixtures for week 04: real psycopg connections to one fresh database for the week.

One database, not one per module: creating and dropping a database costs up to seconds on a busy
server, more than this week's tests themselves. Each lab keeps to its own tables (the pagination
lab to its own schema), and every test resets what it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

# Durability is not what these tests examine, so commits do not wait for the WAL flush: on a busy
# disk that wait dominates a test that commits thousands of times. Locking and isolation are
# unaffected.
FAST_COMMITS = "-c synchronous_commit=off"
# Deadlocks are detected after deadlock_timeout (1 s by default). Tests that provoke them lower it
# for their own sessions so a deadlock costs 50 ms; a server that refuses (not a superuser) keeps
# the default, which is only slower.
FAST_DEADLOCKS = "-c deadlock_timeout=50ms"


@pytest.fixture(scope="session")
def lab_database_url(make_database: Callable[..., str]) -> str:
    """The week's database: fresh for this run, dropped at its end."""
    return make_database("week04")


@pytest.fixture(scope="module")
def session_options() -> str:
    """Extra ``-c name=value`` settings for every connection a module opens; modules override it."""
    return ""


@pytest.fixture
def connect(lab_database_url: str, session_options: str) -> Iterator[Callable[[], psycopg.Connection]]:
    """Factory: a new autocommit connection to the week's database; all closed at the end."""
    opened: list[psycopg.Connection] = []

    def open_connection() -> psycopg.Connection:
        try:
            conn = psycopg.connect(lab_database_url, autocommit=True,
                                   options=f"{FAST_COMMITS} {FAST_DEADLOCKS} {session_options}")
        except psycopg.errors.InsufficientPrivilege:
            conn = psycopg.connect(lab_database_url, autocommit=True,
                                   options=f"{FAST_COMMITS} {session_options}")
        opened.append(conn)
        return conn

    yield open_connection
    for conn in opened:
        conn.close()
