"""The end-to-end rig: real roles as real processes, a fresh database, a loopback receiver.

Nothing here imports the course: these tests run the same in the exported repository, where CI
provides PostgreSQL and Redis and sets ``DATABASE_URL`` and ``REDIS_URL``. Each test module starts
its stack once (``relay``, ``worker``, ``scheduler`` as ``python -m anchor.workers.<role>``, with
``PYTHONPATH`` = the folder holding ``anchor``) on a database of its own, with time compressed by
``ANCHOR_RETRY_TIME_SCALE`` so Svix's schedule of days runs in seconds; tests stay apart by
using a tenant and a receiver path each.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from anchor.core.ids import new_id
from anchor.services.secrets import generate_secret

from .receiver import Receiver

PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # the folder that holds `anchor`
READY_TIMEOUT_S = 90.0  # a role imports SQLAlchemy, httpx and friends; a busy machine is slow
JWT_SECRET = "e2e-" + "k" * 40


def free_port() -> int:
    """A TCP port nobody listens on right now (for a role's ``metrics_port`` or the API)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def required_url(name: str) -> str:
    """``DATABASE_URL`` or ``REDIS_URL``, or one clear failure saying how to provide it."""
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: the end-to-end tests need a real "
                    f"{'PostgreSQL' if name == 'DATABASE_URL' else 'Redis'} (CI provides it as a service "
                    "container; the course sets it when it runs these tests)", pytrace=False)
    return value


def plain_pg_url(url: str) -> str:
    """A libpq URL for psycopg (SQLAlchemy's ``postgresql+psycopg://`` spelling removed)."""
    return re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)


def fresh_database(label: str) -> str:
    """A new, empty database on ``DATABASE_URL``'s server, so modules never see each other's rows."""
    base = plain_pg_url(required_url("DATABASE_URL"))
    name = f"e2e_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(plain_pg_url(required_url("DATABASE_URL")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Role:
    """One running role: its process and its log file (shown when something goes wrong)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)


def role_env(database_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """The environment of a role: ``anchor`` importable, settings as ``ANCHOR_*`` variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANCHOR_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # let the roles cache their bytecode: faster starts
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    values = {"database_url": database_url, "redis_url": redis_url, "jwt_secret": JWT_SECRET,
              "log_json": "false", "log_level": "info"} | settings
    return env | {f"ANCHOR_{key.upper()}": value for key, value in values.items()}


def start_role(role: str, env: dict[str, str], log_dir: Path, *, tag: str = "") -> Role:
    """``python -m anchor.workers.<role>``, returned once it logged ``"<role> ready"``."""
    log = log_dir / f"{role}{tag}.log"
    handle = log.open("wb")
    process = subprocess.Popen([sys.executable, "-m", f"anchor.workers.{role}"], env=env,
                               stdout=handle, stderr=subprocess.STDOUT)
    running = Role(role, process, log)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if f"{role} ready" in log.read_text(errors="replace"):
            return running
        if process.poll() is not None:
            pytest.fail(f"the {role} exited with {process.returncode} before it was ready:\n{running.tail()}",
                        pytrace=False)
        time.sleep(0.05)
    running.stop(signal.SIGKILL)
    pytest.fail(f"the {role} did not log '{role} ready' within {READY_TIMEOUT_S:.0f}s:\n{running.tail()}",
                pytrace=False)


def migrate(env: dict[str, str]) -> None:
    completed = subprocess.run([sys.executable, "-m", "anchor.migrations", "upgrade"], env=env,
                               capture_output=True, text=True, timeout=120)
    if completed.returncode != 0:
        pytest.fail(f"migrations failed:\n{completed.stderr[-3000:]}", pytrace=False)


@dataclass(frozen=True)
class Tenant:
    id: str
    operational_app: str


@dataclass
class Stack:
    """A database, a Redis database and the background roles running against them."""

    database_url: str
    redis_url: str
    env: dict[str, str]
    log_dir: Path
    roles: dict[str, Role] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)

    def start(self, role: str, *, tag: str = "", **settings: str) -> Role:
        env = self.env | {f"ANCHOR_{key.upper()}": value for key, value in settings.items()}
        running = start_role(role, env, self.log_dir, tag=tag)
        self.roles[role + tag] = running
        if "metrics_port" in settings:
            self.metrics_ports[role + tag] = int(settings["metrics_port"])
        return running

    def stop_all(self) -> None:
        for running in self.roles.values():
            running.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{running.tail(15)}" for name, running in self.roles.items())

    # ------------------------------------------------------------------ data, straight in PostgreSQL

    def sql(self, statement: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(plain_pg_url(self.database_url), autocommit=True) as connection:
            cursor = connection.execute(statement, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def tenant(self) -> Tenant:
        """A tenant with its operational application, as signup makes them."""
        tenant_id, operational = new_id("org"), new_id("app")
        self.sql("INSERT INTO tenants (id, name) VALUES (%s, 'e2e')", (tenant_id,))
        self.sql("INSERT INTO applications (id, tenant_id, uid, name, operational) "
                 "VALUES (%s, %s, 'operational', 'Operational events', true)", (operational, tenant_id))
        return Tenant(tenant_id, operational)

    def app(self, tenant: Tenant) -> str:
        app_id = new_id("app")
        self.sql("INSERT INTO applications (id, tenant_id, name) VALUES (%s, %s, 'e2e app')",
                 (app_id, tenant.id))
        return app_id

    def endpoint(self, tenant: Tenant, app_id: str, url: str, **columns: Any) -> tuple[str, str]:
        """A registered endpoint (``ordered``, ``rate_limit``, … as columns) and its secret."""
        endpoint_id, secret = new_id("ep"), generate_secret()
        names = ["id", "tenant_id", "app_id", "url", "description", "version", *columns]
        values = [endpoint_id, tenant.id, app_id, url, "", 1, *columns.values()]
        self.sql(f"INSERT INTO endpoints ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",
                 tuple(values))
        self.sql("INSERT INTO endpoint_secrets (endpoint_id, secret) VALUES (%s, %s)", (endpoint_id, secret))
        return endpoint_id, secret

    def send(self, tenant: Tenant, app_id: str, payload: dict[str, Any],
             event_type: str = "invoice.paid") -> str:
        """Accept a message as ingestion does: the message and its outbox row in one transaction."""
        msg_id = new_id("msg")
        with psycopg.connect(plain_pg_url(self.database_url)) as connection, connection.transaction():
            connection.execute("INSERT INTO messages (id, tenant_id, app_id, event_type, payload) "
                               "VALUES (%s, %s, %s, %s, %s)", (msg_id, tenant.id, app_id, event_type,
                                                               json.dumps(payload)))
            connection.execute("INSERT INTO outbox (message_id) VALUES (%s)", (msg_id,))
        return msg_id

    def attempts(self, endpoint_id: str) -> list[tuple[Any, ...]]:
        """``(status, response_status_code, error_class, error_detail, message_id)`` in order."""
        return self.sql("SELECT status, response_status_code, error_class, error_detail, message_id "
                        "FROM attempts WHERE endpoint_id = %s ORDER BY id", (endpoint_id,))

    def wait(self, statement: str, params: tuple[Any, ...], expected: Any, *, timeout_s: float = 20.0) -> Any:
        """Poll ``statement``'s first value until it equals ``expected``; the last value seen."""
        deadline = time.monotonic() + timeout_s
        value: Any = None
        while time.monotonic() < deadline:
            rows = self.sql(statement, params)
            value = rows[0][0] if rows else None
            if value == expected:
                return value
            time.sleep(0.05)
        return value


def make_stack(label: str, log_dir: Path, **settings: str) -> Stack:
    database_url = fresh_database(label)
    redis_url = required_url("REDIS_URL")
    redis.Redis.from_url(redis_url).flushdb()
    stack = Stack(database_url, redis_url, role_env(database_url, redis_url, **settings), log_dir)
    migrate(stack.env)
    return stack


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("roles")


def stack_fixture(stack: Stack) -> Iterator[Stack]:
    """Yield a started stack; stop its roles and drop its database afterwards."""
    try:
        yield stack
    finally:
        stack.stop_all()
        drop_database(stack.database_url)
