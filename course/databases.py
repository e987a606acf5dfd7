"""Databases on a PostgreSQL server: create, drop, and templates built once and cloned.

The janitor half of the services (pytest-postgresql's word): a test gets a fresh database cloned
from a template in milliseconds instead of loading a dataset each time. Works on any server URL —
the embedded one or ``DATABASE_URL`` — and keeps the URL's user, password and query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from course.credentials import SecretUrl


def with_database(url: str, database: str) -> SecretUrl:
    """``url`` pointed at another database on the same server (user, password and query kept)."""
    base, _, rest = url.partition("://")
    authority, _, tail = rest.partition("/")
    query = tail.partition("?")[2]
    return SecretUrl(f"{base}://{authority}/{database}" + (f"?{query}" if query else ""))


def create_database(server_url: str, name: str, template: str | None = None) -> SecretUrl:
    """Create database ``name`` (optionally cloned from ``template``) and return its URL."""
    import psycopg
    from psycopg import sql

    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop ``name``, disconnecting anyone still using it (PostgreSQL 13+)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def ensure_template(server_url: str, name: str, build: Callable[[str], None]) -> SecretUrl:
    """Build template database ``name`` once (``build`` receives its URL); later calls reuse it.

    A server-wide advisory lock makes parallel builders wait for the first; a database comment
    marks the template complete, so an interrupted build is redone rather than trusted.
    """
    import psycopg
    from psycopg import sql

    lock_key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
        try:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                (name,),
            ).fetchone()
            if row is None or row[0] != "ready":
                if row is not None:
                    drop_database(server_url, name)
                url = create_database(server_url, name)
                build(url)
                conn.execute(sql.SQL("COMMENT ON DATABASE {} IS 'ready'").format(sql.Identifier(name)))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
    return with_database(server_url, name)
