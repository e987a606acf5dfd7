"""The anchor service from the course's side: where its code is, its environment, its roles.

The anchor is one package, ``anchor``, imported top-level: its root on ``PYTHONPATH`` is
``labs/`` (the learner's), ``solutions/`` (``--solutions``, through ``COURSE_LAB_PATH``) or the
composite folder the proof builds for one week. Weeks 13–15, ``course anchor …`` and the proof
suite start its roles through :func:`start_role`, so they all run it the same way.

:func:`prepare` gives a local installation its services: a database ``anchor`` on the course's
PostgreSQL (created when absent, kept between runs), a leased Redis database, and a JWT secret
made once per installation and kept in the private state directory — so a token issued by one
``course anchor up`` still verifies after the next.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course import paths, services
from course.credentials import redact
from course.errors import CourseError
from course.processes import RunningProcess, python_command, start_process
from course.redis_leases import REDIS_LEASE_S
from course.statedir import state_dir, write_private
from course.target import LAB_PATH_ENV

ROLES = ("api", "relay", "worker", "scheduler")
MODULES = {"api": "anchor.api", "relay": "anchor.workers.relay", "worker": "anchor.workers.worker",
           "scheduler": "anchor.workers.scheduler", "migrate": "anchor.migrations"}
# Loopback receivers (the demo receiver, the tests') must be reachable past the SSRF guard.
LOOPBACK_ALLOW = "127.0.0.0/8,::1/128"
DATABASE = "anchor"
JWT_SECRET_FILE = "anchor-jwt.secret"
MIGRATE_TIMEOUT_S = 120.0


class AnchorError(CourseError):
    """The anchor cannot run here as asked; the message names what and the fix."""


def package_root() -> Path:
    """The folder that holds the ``anchor`` package under test."""
    return Path(os.environ.get(LAB_PATH_ENV) or paths.LABS_DIR)


def anchor_env(*, database_url: str, redis_url: str, jwt_secret: str, **settings: str) -> dict[str, str]:
    """The environment a role runs in: ``anchor`` importable, its settings as ``ANCHOR_*`` variables.

    ``settings`` are extra settings by field name (``retry_time_scale="0.001"``). Only these
    variables are returned: :func:`course.processes.start_process` lays them over ``os.environ``.
    """
    values = {"database_url": database_url, "redis_url": redis_url, "jwt_secret": jwt_secret,
              "ssrf_allow_cidrs": LOOPBACK_ALLOW, "log_json": "false"} | settings
    python_path = os.pathsep.join(filter(None, [str(package_root()), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": python_path} | {f"ANCHOR_{key.upper()}": value for key, value in values.items()}


def start_role(role: str, env: dict[str, str], *, port: int | None = None,
               timeout: float = 30.0) -> RunningProcess:
    """Start one role (``api`` on ``port``, a free one if None) and return once it is up.

    The API is up when its port accepts; a worker role when it logs ``"<role> ready"``.
    """
    if role == "api":
        return start_process(python_command("-m", MODULES["api"], "--host", "127.0.0.1", "--port", "{port}"),
                             port=port, env=env, timeout=timeout)
    if role not in MODULES:
        raise ValueError(f"unknown anchor role {role!r}; roles: {', '.join(ROLES)}")
    return start_process(python_command("-m", MODULES[role]), ready_line=f"{role} ready", env=env,
                         timeout=timeout)


# --------------------------------------------------------------------------- a local installation


def jwt_secret() -> str:
    """This installation's JWT signing key: made once, kept 0600 in the state directory."""
    path = state_dir() / JWT_SECRET_FILE
    if path.is_file():
        value = path.read_text().strip()
        if len(value) >= 32:
            return value
    value = secrets.token_urlsafe(48)
    write_private(path, value + "\n")
    return value


@dataclass(frozen=True)
class Install:
    """The services one local run of the anchor uses (URLs carry passwords: print them masked)."""

    database_url: str
    redis_url: str
    jwt_secret: str

    def env(self, **settings: str) -> dict[str, str]:
        """:func:`anchor_env` for this installation, plus ``settings``."""
        return anchor_env(database_url=self.database_url, redis_url=self.redis_url,
                          jwt_secret=self.jwt_secret, **settings)


def ensure_database(server_url: str, name: str) -> str:
    """The URL of database ``name`` on ``server_url``'s server, created if it does not exist."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        return services.with_database(server_url, name)
    return services.create_database(server_url, name)


def prepare(database: str = DATABASE, *, fresh: bool = False) -> Install:
    """Services for the anchor: database ``database``, a leased Redis db, the JWT secret.

    The database is kept between runs (a learner's tenants survive a restart) unless ``fresh``:
    a measured run starts from empty tables, so one run's rows never slow the next.
    Raises :class:`course.services.ServiceUnavailable` (one message with the fix) when either
    server does not answer.
    """
    server = services.checked_postgres_url()
    if fresh:
        services.drop_database(server, database)
    database_url = ensure_database(server, database)
    redis_url = services.allocate_redis_db(services.checked_redis_url())
    return Install(database_url, redis_url, jwt_secret())


def renew_redis_lease(redis_url: str) -> None:
    """Keep the leased Redis database ours while a long run (``course anchor up``) uses it.

    A lease lapses after ``REDIS_LEASE_S``; a test run that then leased the same database would
    flush the anchor's stream under it.
    """
    import redis

    base, _, index = redis_url.rpartition("/")
    with redis.Redis.from_url(f"{base}/0", socket_timeout=5) as admin:
        admin.set(f"course:lease:{index}", os.getpid(), ex=REDIS_LEASE_S)


def check_importable(env: dict[str, str]) -> None:
    """Fail with one message when the ``anchor`` package under test cannot even be imported.

    A learner's ``labs/anchor`` that is missing, or a stub that fails at import, would otherwise
    show up as four roles dying with four tracebacks.
    """
    root = package_root()
    if not (root / "anchor" / "__init__.py").is_file():
        raise AnchorError(f"there is no anchor package in {paths.relative(root)}/anchor. "
                          "fix: run `course anchor up --solutions` for the reference, or start the "
                          "anchor weeks (weeks/13-anchor-core) to get your scaffold.")
    modules = ", ".join(["anchor.main", *(MODULES[role] for role in ROLES[1:])])
    done = subprocess.run([sys.executable, "-c", f"import {modules}"], env=os.environ | env,
                          capture_output=True, text=True, timeout=120, cwd=paths.REPO_ROOT)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise AnchorError(f"the anchor in {paths.relative(root)}/anchor does not import: {last}\n"
                          "  fix: make it import (`python -c 'import anchor.main'` with "
                          f"PYTHONPATH={paths.relative(root)} shows the traceback), or run "
                          "`course anchor up --solutions` for the reference.")


def migrate(env: dict[str, str], timeout_s: float = MIGRATE_TIMEOUT_S) -> None:
    """Bring the database to the newest schema (``python -m anchor.migrations upgrade``)."""
    done = subprocess.run(python_command("-m", MODULES["migrate"], "upgrade"), env=os.environ | env,
                          capture_output=True, text=True, timeout=timeout_s, cwd=paths.REPO_ROOT)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:])
        raise AnchorError(f"the migrations failed:\n{redact(tail)}\n"
                          "  fix: read the error above; `python -m anchor.migrations upgrade` "
                          "runs them alone.")
