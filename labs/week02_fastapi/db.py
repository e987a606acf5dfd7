"""One SQLAlchemy engine — one connection pool — per database URL, for the life of the process.

An engine per request would open a fresh TCP connection and PostgreSQL backend for every call;
the pool is the reason to keep exactly one.
"""

from __future__ import annotations

import functools

from sqlalchemy import Engine, create_engine

from .settings import psycopg_url

# A server that does not answer within this is down for our purposes: fail the request (or the
# readiness probe) instead of hanging on it.
CONNECT_TIMEOUT_S = 3


@functools.cache
def engine_for(database_url: str) -> Engine:
    """The process-wide engine for ``database_url`` (``pool_pre_ping`` survives server restarts)."""
    return create_engine(psycopg_url(database_url), pool_size=5, max_overflow=5, pool_pre_ping=True,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
