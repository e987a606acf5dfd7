"""The anchor's own tests run against a real PostgreSQL and Redis, named by the environment.

``DATABASE_URL`` and ``REDIS_URL`` are what a CI service container (or the course) provides. The
session migrates a fresh PostgreSQL *schema* of its own (so it never touches other data in that
database and is dropped at the end), flushes the Redis database, and serves the app in process:
``httpx.AsyncClient`` over ``ASGITransport``, with the app's lifespan entered through
``app.router.lifespan_context`` so its pools exist exactly as they do in production.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import quote

import httpx
import psycopg
import pytest
import redis
from anchor.core.config import Settings
from anchor.main import create_app
from anchor.migrations import upgrade
from anchor.tests.helpers import Tenant, make_tenant
from fastapi import FastAPI

REQUIRED = ("DATABASE_URL", "REDIS_URL")


def pytest_configure(config: pytest.Config) -> None:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        pytest.exit(f"the anchor's tests need a real PostgreSQL and Redis: set {' and '.join(missing)} "
                    "(e.g. DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/anchor_test "
                    "REDIS_URL=redis://127.0.0.1:6379/15)", returncode=2)


def plain_url(url: str) -> str:
    """The URL psycopg itself accepts (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def schema_url(url: str, schema: str) -> str:
    """``url`` with every connection's ``search_path`` set to ``schema``."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def make_schema() -> Iterator[Callable[[str], str]]:
    """Create empty schemas (dropped at the end of the session); returns a URL that uses one."""
    created: list[str] = []
    base = plain_url(os.environ["DATABASE_URL"])

    def make(label: str) -> str:
        schema = f"anchor_{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        created.append(schema)
        return schema_url(base, schema)

    yield make
    with psycopg.connect(base, autocommit=True) as connection:
        for schema in created:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def migrated_url(make_schema: Callable[[str], str]) -> str:
    url = make_schema("api")
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ["REDIS_URL"]
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


@pytest.fixture(scope="session")
def settings(migrated_url: str, redis_url: str) -> Settings:
    return Settings(database_url=migrated_url, redis_url=redis_url, jwt_secret=secrets.token_urlsafe(48),
                    log_json=False)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://anchor.test") as c:
        yield c


@pytest.fixture
def tenant(client: httpx.AsyncClient) -> Callable[[], Awaitable[Tenant]]:
    """``await tenant()``: sign up a new tenant, sign in, and create an API key."""

    async def make() -> Tenant:
        return await make_tenant(client)

    return make
