"""Week 14's rig: the anchor's real roles on a fresh, migrated database, and a loopback receiver.

Every test drives the delivery side the way production does: rows go into PostgreSQL (a tenant,
its applications, endpoints with their secrets, messages with their outbox rows — exactly what
week 13's API writes), the relay, worker and scheduler run as real processes
(``python -m anchor.workers.<role>``, started by ``course.anchor.start_role``), and the tests
look only at what anyone could see from outside: the rows, the Redis stream, and the requests
the receiver got. So any correct implementation passes, however it is written.

Roles start once per test module (a start costs a second of imports) with the settings the
module needs; each test makes its own tenant and endpoints, so tests in a module never see each
other's messages.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import redis
from anchor_jobs_receiver import Receiver, wait_until
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from course import anchor
from course.processes import ProcessFailed, RunningProcess, stop_all

LESSON = "weeks/14-anchor-jobs/README.md"
JWT_SECRET = "week-14-tests-" + "k" * 40
# The spec's Redis names (anchor-spec, "The flow"): the stream of due deliveries, the workers'
# consumer group on it, and where entries go that no worker could finish.
STREAM = "anchor:deliveries"
GROUP = "workers"
DEAD_LETTERS = "anchor:deliveries:dead"

__all__ = ["DEAD_LETTERS", "GROUP", "STREAM", "Endpoint", "Receiver", "Rig", "Tenant", "new_id", "wait_until"]


def new_id(prefix: str) -> str:
    """An id in the anchor's shape, ``<prefix>_<26 characters>``."""
    return f"{prefix}_{uuid.uuid4().hex[:26].upper()}"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Tenant:
    """A tenant with its operational application (where operational events go) and one app."""

    def __init__(self, tenant_id: str, operational_app_id: str, app_id: str) -> None:
        self.id = tenant_id
        self.operational_app_id = operational_app_id
        self.app_id = app_id


class Endpoint:
    """An endpoint row as the tests made it: its id, the receiver name it posts to, its secret."""

    def __init__(self, endpoint_id: str, name: str, url: str, secret: str) -> None:
        self.id = endpoint_id
        self.name = name
        self.url = url
        self.secret = secret


class Rig:
    """The anchor under test for one module: its database, its Redis, its roles, the receiver."""

    def __init__(self, database_url: str, redis_url: str, receiver: Any) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.receiver = receiver
        self.pg = psycopg.connect(database_url, autocommit=True, row_factory=dict_row)
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.processes: list[RunningProcess] = []
        self.metrics_urls: dict[str, str] = {}

    # ------------------------------------------------------------------- roles

    def env(self, **settings: object) -> dict[str, str]:
        """The role's environment; ``settings`` may override the URLs (a role behind a chaos proxy)."""
        values = {"database_url": self.database_url, "redis_url": self.redis_url, "jwt_secret": JWT_SECRET}
        return anchor.anchor_env(**values | {k: str(v) for k, v in settings.items()})

    def start(self, role: str, **settings: object) -> RunningProcess:
        """Start ``role`` with these ``ANCHOR_*`` settings; a role that cannot start fails the test."""
        try:
            process = anchor.start_role(role, self.env(**settings), timeout=30)
        except ProcessFailed as exc:
            self._failed_to_start(role, exc)
        self.processes.append(process)
        return process

    def start_together(self, *roles: tuple[str, dict[str, object]]) -> list[RunningProcess]:
        """Start several roles at once, so their imports overlap; ``(role, settings)`` pairs."""
        with ThreadPoolExecutor(len(roles)) as pool:
            starts = [(role, pool.submit(anchor.start_role, role, self.env(**settings), timeout=30))
                      for role, settings in roles]
        failed = [(role, start.exception()) for role, start in starts if start.exception() is not None]
        self.processes += [start.result() for _, start in starts if start.exception() is None]
        for role, exc in failed:
            if isinstance(exc, ProcessFailed):
                self._failed_to_start(role, exc)
            raise exc  # type: ignore[misc]
        return [start.result() for _, start in starts]

    def _failed_to_start(self, role: str, exc: ProcessFailed) -> None:
        pytest.fail(f"expected the {role} to start and log '{role} ready'; it did not. {exc}\n"
                    f"A NotImplementedError above names the lesson section to read ({LESSON}).",
                    pytrace=False)

    def close(self) -> None:
        stop_all(self.processes)
        self.pg.close()
        self.redis.close()

    # ------------------------------------------------------------------- rows

    def rows(self, sql: str, *params: object) -> list[dict[str, Any]]:
        return self.pg.execute(sql, params).fetchall()

    def one(self, sql: str, *params: object) -> dict[str, Any] | None:
        return self.pg.execute(sql, params).fetchone()

    def tenant(self) -> Tenant:
        """A new tenant, its operational application and one application of its own."""
        tenant = Tenant(new_id("org"), new_id("app"), new_id("app"))
        with self.pg.transaction():
            self.pg.execute("INSERT INTO tenants (id, name) VALUES (%s, 'week 14')", (tenant.id,))
            self.pg.execute("INSERT INTO applications (id, tenant_id, uid, name, operational) "
                            "VALUES (%s, %s, 'operational', 'Operational events', true)",
                            (tenant.operational_app_id, tenant.id))
            self.pg.execute("INSERT INTO applications (id, tenant_id, uid, name) VALUES (%s, %s, %s, 'shop')",
                            (tenant.app_id, tenant.id, "shop-" + tenant.id[-6:]))
        return tenant

    def endpoint(self, tenant: Tenant, name: str, *, url: str | None = None,
                 filter_types: list[str] | None = None, rate_limit: int | None = None,
                 max_concurrency: int | None = None, disabled: bool = False,
                 retiring_secret: bool = False) -> Endpoint:
        """An endpoint of ``tenant.app_id`` posting to the receiver (or ``url``), as ``endpoint.name``.

        ``retiring_secret`` adds a rotated-out secret still in its grace period, as a rotation
        leaves it: both must sign.
        """
        endpoint_id = new_id("ep")
        name = f"{name}-{endpoint_id[-8:].lower()}"  # one receiver serves every test: names never clash
        endpoint = Endpoint(endpoint_id, name, url or self.receiver.url(name), new_secret())
        with self.pg.transaction():
            self.pg.execute(
                "INSERT INTO endpoints (id, tenant_id, app_id, url, description, version, filter_types, "
                "rate_limit, max_concurrency, disabled) VALUES (%s, %s, %s, %s, '', 1, %s, %s, %s, %s)",
                (endpoint.id, tenant.id, tenant.app_id, endpoint.url, filter_types, rate_limit,
                 max_concurrency, disabled))
            self.pg.execute("INSERT INTO endpoint_secrets (endpoint_id, secret) VALUES (%s, %s)",
                            (endpoint.id, endpoint.secret))
            if retiring_secret:
                self.pg.execute("INSERT INTO endpoint_secrets (endpoint_id, secret, created_at, expires_at) "
                                "VALUES (%s, %s, now() - interval '1 day', now() + interval '1 hour')",
                                (endpoint.id, new_secret()))
        return endpoint

    def secrets_of(self, endpoint: Endpoint) -> list[str]:
        return [row["secret"] for row in self.rows(
            "SELECT secret FROM endpoint_secrets WHERE endpoint_id = %s ORDER BY id", endpoint.id)]

    def send(self, tenant: Tenant, payload: dict[str, Any] | None = None, *,
             event_type: str = "invoice.paid", count: int = 1) -> list[str]:
        """Accept ``count`` messages the way ingestion does: message and outbox row, one transaction."""
        ids = [new_id("msg") for _ in range(count)]
        with self.pg.transaction(), self.pg.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO messages (id, tenant_id, app_id, event_type, payload) "
                "VALUES (%s, %s, %s, %s, %s)",
                [(i, tenant.id, tenant.app_id, event_type, Jsonb(payload or {"n": n}))
                 for n, i in enumerate(ids)])
            cursor.executemany("INSERT INTO outbox (message_id) VALUES (%s)", [(i,) for i in ids])
        return ids

    def deliveries(self, endpoint: Endpoint) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM deliveries WHERE endpoint_id = %s ORDER BY id", endpoint.id)

    def attempts(self, endpoint: Endpoint) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM attempts WHERE endpoint_id = %s ORDER BY created_at, id", endpoint.id)

    def endpoint_row(self, endpoint: Endpoint) -> dict[str, Any]:
        row = self.one("SELECT * FROM endpoints WHERE id = %s", endpoint.id)
        assert row is not None
        return row

    def operational_events(self, tenant: Tenant) -> list[dict[str, Any]]:
        """The messages the service itself sent to the tenant's operational application."""
        return self.rows("SELECT event_type, payload FROM messages WHERE app_id = %s ORDER BY id",
                         tenant.operational_app_id)

    # ------------------------------------------------------------------- Redis

    def stream_delivery_ids(self) -> list[str]:
        """The ``delivery_id`` of every entry on the stream, in order, duplicates kept."""
        return [fields.get("delivery_id", "") for _, fields in self.redis.xrange(STREAM)]
