"""Managed PostgreSQL settings: a verified TLS connection and a pool that fits the server.

A managed database is reached over a network you do not own, so the client must both encrypt
(TLS) *and* check it is talking to the right server (the CA bundle and the hostname): that is
``sslmode=verify-full``. And the server has a hard ``max_connections``: every instance of the
service opens its own pool, so the pools together — plus the slots the server keeps for its
administrators — must fit, or the N+1th instance fails to start at the worst moment (a deploy).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode


def pool_size(*, max_connections: int, instances: int, reserved_connections: int = 3,
              processes_per_instance: int = 1) -> int:
    """The largest pool each process may open so that every pool together fits the server.

    ``(max_connections - reserved_connections) // (instances * processes_per_instance)``;
    ``ValueError`` when that is below 1 or an argument is not positive.
    """
    if instances < 1 or processes_per_instance < 1 or max_connections < 1:
        raise ValueError("max_connections, instances and processes_per_instance must be >= 1; "
                         f"got {max_connections}, {instances}, {processes_per_instance}")
    if reserved_connections < 0:
        raise ValueError(f"reserved_connections must be >= 0; got {reserved_connections}")
    processes = instances * processes_per_instance
    size = (max_connections - reserved_connections) // processes
    if size < 1:
        raise ValueError(f"{processes} processes cannot each have a connection: max_connections="
                         f"{max_connections} with {reserved_connections} reserved leaves "
                         f"{max_connections - reserved_connections}; add a pooler (PgBouncer, "
                         "RDS Proxy) or a larger instance")
    return size


def database_url(*, host: str, dbname: str, user: str, password: str, ca_bundle_path: Path,
                 port: int = 5432, connect_timeout_s: int = 5) -> str:
    """A libpq URL that encrypts and verifies the server: ``sslmode=verify-full`` + the CA bundle.

    User and password are percent-encoded, so any character is safe in them.
    """
    query = urlencode({"sslmode": "verify-full", "sslrootcert": str(ca_bundle_path),
                       "connect_timeout": connect_timeout_s})
    return (f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
            f"{quote(dbname, safe='')}?{query}")
