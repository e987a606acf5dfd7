"""Managed PostgreSQL settings: a verified TLS connection and a pool that fits the server.

A managed database is reached over a network you do not own, so the client must both encrypt
(TLS) *and* check it is talking to the right server (the CA bundle and the hostname): that is
``sslmode=verify-full``. And the server has a hard ``max_connections``: every instance of the
service opens its own pool, so the pools together — plus the slots the server keeps for its
administrators — must fit, or the N+1th instance fails to start at the worst moment (a deploy).
"""

from __future__ import annotations

from pathlib import Path


def pool_size(*, max_connections: int, instances: int, reserved_connections: int = 3,
              processes_per_instance: int = 1) -> int:
    """The largest pool each process may open so that every pool together fits the server.

    ``(max_connections - reserved_connections) // (instances * processes_per_instance)`` —
    e.g. 100 connections, 3 reserved, 4 instances → 24. ``ValueError`` (naming the numbers)
    when that is below 1, when ``max_connections``, ``instances`` or ``processes_per_instance``
    is below 1, or ``reserved_connections`` is negative.
    """
    raise NotImplementedError(
        "pool_size — see weeks/12-cloud/README.md, section 'Pool size against max_connections'")


def database_url(*, host: str, dbname: str, user: str, password: str, ca_bundle_path: Path,
                 port: int = 5432, connect_timeout_s: int = 5) -> str:
    """A libpq URL that encrypts and verifies the server.

    ``postgresql://user:password@host:port/dbname?sslmode=verify-full&sslrootcert=<ca_bundle_path>
    &connect_timeout=<connect_timeout_s>``, with user and password percent-encoded so any
    character (``@``, ``/``, ``:``) is safe in them.
    """
    raise NotImplementedError(
        "database_url — see weeks/12-cloud/README.md, section 'TLS to a managed database'")
