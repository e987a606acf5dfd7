"""Shared fixtures for week 10: one fresh PostgreSQL database for the week, async clients.

The labs are async (``redis.asyncio``, ``psycopg.AsyncConnection``) because the anchor service
that imports them is. Each test is a plain function that runs one ``async`` scenario with
``asyncio.run``: no event-loop plugin, and every client is opened and closed inside the scenario.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import psycopg
import pytest
import redis.asyncio as aioredis

# Durability is not what these tests examine (clients die, PostgreSQL does not), so commits do not
# wait for the WAL flush: on a busy disk that wait dominates tests that commit hundreds of times.
FAST_COMMITS = "-c synchronous_commit=off"


@pytest.fixture(scope="session")
def lab_database_url(make_database: Callable[..., str]) -> str:
    """The week's database: fresh for this run, dropped at its end; tests reset the tables they use."""
    return make_database("week10")


@pytest.fixture
def pg_connect(lab_database_url: str) -> Callable[[], Awaitable[psycopg.AsyncConnection]]:
    """Factory: ``async with await pg_connect() as conn`` — an autocommit async connection."""
    return lambda: psycopg.AsyncConnection.connect(lab_database_url, autocommit=True, options=FAST_COMMITS)


@pytest.fixture
def redis_async(redis_url: str) -> Callable[[], aioredis.Redis]:
    """Factory: ``async with redis_async() as client`` — on this test's flushed Redis database."""
    return lambda: aioredis.Redis.from_url(redis_url, decode_responses=True)
