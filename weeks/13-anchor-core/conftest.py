"""Week 13's rig: one real anchor API process for the session, driven over HTTP.

The tests judge the service the way its clients do — status codes, problem documents, headers —
and look behind it only where the point is what was stored (a password hash, an API key at rest,
a message without its outbox row). One database and one Redis database serve the whole session;
every test starts from empty tables and an empty Redis, and makes its own tenants.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
import redis

from course import anchor, services
from course.processes import ProcessFailed, RunningProcess, python_command

# The key people's tokens are signed with: the tests know it so they can forge the tokens an
# attacker cannot (an expired one, one without `exp`) and prove the service still refuses them.
JWT_SECRET = "week13-jwt-secret-long-enough-for-hs256-0123456789"
PASSWORD = "correct horse battery staple"

# The week's settings. The SSRF guard allows nothing private here (no loopback receiver is needed
# until week 14); the session API's tenant quota is large enough that no test meets it by accident
# (the quota tests start instances of their own with a small one).
SETTINGS = {"ssrf_allow_cidrs": "", "ingest_rate_per_s": "50", "ingest_burst": "500",
            "access_token_ttl_s": "600"}

# The anchor package under test is imported in-process too, for the unit tests of its pure parts.
if str(anchor.package_root()) not in sys.path:
    sys.path.insert(0, str(anchor.package_root()))


def api_env(database_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """The environment an API process of this week runs in (``settings`` override :data:`SETTINGS`)."""
    return anchor.anchor_env(database_url=database_url, redis_url=redis_url, jwt_secret=JWT_SECRET,
                             **(SETTINGS | settings))


def start_api(env: dict[str, str]) -> RunningProcess:
    """An API process, or one clear failure naming why it did not start."""
    try:
        return anchor.start_role("api", env)
    except ProcessFailed as exc:
        pytest.fail(f"the anchor API did not start (python -m anchor.api):\n{exc}", pytrace=False)


@pytest.fixture(scope="session")
def anchor_database_url(make_database: Callable[..., str]) -> str:
    """The week's database, migrated to the newest schema with the anchor's own command."""
    url = make_database("week13")
    env = anchor.anchor_env(database_url=url, redis_url="redis://127.0.0.1:1/0", jwt_secret=JWT_SECRET)
    done = subprocess.run(python_command("-m", "anchor.migrations", "upgrade"), env=os.environ | env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"python -m anchor.migrations upgrade failed:\n{done.stdout}{done.stderr}",
                    pytrace=False)
    return url


@pytest.fixture(scope="session")
def anchor_redis_url(redis_server_url: str) -> Iterator[str]:
    """A Redis database leased for the whole session (the API process keeps it)."""
    url = services.allocate_redis_db(redis_server_url)
    yield url
    services.release_redis_db(url)


@pytest.fixture(scope="session")
def api_process(anchor_database_url: str, anchor_redis_url: str) -> Iterator[RunningProcess]:
    process = start_api(api_env(anchor_database_url, anchor_redis_url))
    yield process
    process.stop()


@dataclass
class Tenant:
    """A signed-up organisation: its ids, a person's JWT, and helpers to call the API as it."""

    base_url: str
    tenant_id: str
    user_id: str
    email: str
    token: str
    log: Callable[[], str] | None = None
    apps: list[str] = field(default_factory=list)

    def client(self, token: str | None = None, base_url: str | None = None) -> httpx.Client:
        """A client that authenticates as this tenant (with ``token``: as that credential)."""
        return httpx.Client(base_url=base_url or self.base_url, timeout=30.0,
                            headers={"Authorization": f"Bearer {token or self.token}"})

    def create_app(self, name: str = "shop") -> str:
        with self.client() as client:
            body = expect(client.post("/api/v1/app", json={"name": name}), 201, "creating an application",
                          self.log)
        self.apps.append(body["id"])
        return str(body["id"])


def expect(response: httpx.Response, status: int, doing: str,
           log: Callable[[], str] | None = None) -> Any:
    """The JSON body of ``response`` when it has ``status``; otherwise a failure that shows it.

    On a 5xx, ``log`` (the API process's output) says what the server raised — on the starter, the
    ``NotImplementedError`` and the lesson section it names.
    """
    if response.status_code != status:
        pytest.fail(f"{doing}: expected HTTP {status}, got {response.status_code} from "
                    f"{response.request.method} {response.request.url.path} with body "
                    f"{response.text[:600]!r}{server_side(response, log)}", pytrace=False)
    return response.json() if response.content else None


def server_side(response: httpx.Response, log: Callable[[], str] | None) -> str:
    """For a 5xx: the ``NotImplementedError`` the API raised, or the end of its log."""
    if response.status_code < 500 or log is None:
        return ""
    text = log()
    unwritten = [line.strip() for line in text.splitlines() if "NotImplementedError:" in line]
    if unwritten:
        return f"\nThe API raised {unwritten[-1]}"
    return "\nThe API's log ends with:\n" + "\n".join(text.splitlines()[-15:])


@dataclass
class AnchorApi:
    """The running API and the database behind it."""

    process: RunningProcess
    database_url: str
    redis_url: str

    @property
    def url(self) -> str:
        return self.process.url

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)

    def signup(self, organization: str = "Acme") -> Tenant:
        """A new tenant with one user, and that user's access token from the password flow."""
        email = f"ops-{uuid.uuid4().hex[:10]}@example.com"
        with self.http() as client:
            ids = expect(client.post("/api/v1/auth/signup", json={
                "email": email, "password": PASSWORD, "organization": organization}), 201, "signing up",
                self.log)
            token = expect(client.post("/api/v1/auth/token", data={
                "username": email, "password": PASSWORD}), 200, "asking for a token with the password",
                self.log)
        return Tenant(self.url, ids["tenantId"], ids["userId"], email, token["access_token"], self.log)

    def sql(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows of one query on the service's database (autocommit)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def log(self, lines: int = 200) -> str:
        """The last ``lines`` the API process printed (tracebacks included)."""
        return self.process.output(last_lines=lines)


@pytest.fixture
def api(api_process: RunningProcess, anchor_database_url: str, anchor_redis_url: str) -> AnchorApi:
    """The session's API, with every table emptied and Redis flushed before this test."""
    if api_process.popen.poll() is not None:
        pytest.fail(f"the anchor API process exited:\n{api_process.output()}", pytrace=False)
    with psycopg.connect(anchor_database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE tenants CASCADE")
    with redis.Redis.from_url(anchor_redis_url) as client:
        client.flushdb()
    return AnchorApi(api_process, anchor_database_url, anchor_redis_url)


@pytest.fixture(scope="session")
def make_api_env() -> Callable[..., dict[str, str]]:
    """:func:`api_env` for tests that start API processes of their own."""
    return api_env


@pytest.fixture
def jwt_secret() -> str:
    return JWT_SECRET
