"""Fixtures shared by week 02's tests: a migrated database, test settings, an app and a client.

Every test gets its own app from ``create_app()`` and swaps the configuration in through
``app.dependency_overrides`` — the same mechanism the lab asks you to make work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

TEST_SECRET = "week02-test-secret-" + "s" * 32


@pytest.fixture(scope="session")
def schema_url(make_database: Callable[..., str]) -> str:
    """One fresh database for the week's tests, with the service's tables created.

    Shared by every module (creating a database costs seconds on a busy machine); tests stay
    independent by using fresh e-mail addresses, never by counting rows.
    """
    from labs.week02_fastapi import models

    url = make_database("week02")
    models.create_schema(url)
    return url


@pytest.fixture
def make_settings(schema_url: str) -> Callable[..., object]:
    """``make_settings(**overrides)`` → a ``Settings`` pointed at the week's database."""
    from labs.week02_fastapi.settings import Settings

    def make(**overrides: object) -> object:
        values: dict[str, object] = {"database_url": schema_url, "jwt_secret": TEST_SECRET} | overrides
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., object]) -> object:
    return make_settings()


@pytest.fixture
def app(settings: object) -> object:
    from labs.week02_fastapi.main import create_app
    from labs.week02_fastapi.settings import get_settings

    application = create_app()
    application.dependency_overrides[get_settings] = lambda: settings
    return application


@pytest.fixture
def client(app: object) -> Iterator[object]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette prefers httpx2; httpx works the same here
        from fastapi.testclient import TestClient

        # Not entered as a context manager: the app has no lifespan work, and a failing
        # middleware then shows up in the test that made the request, not in fixture setup.
        yield TestClient(app)  # type: ignore[arg-type]
