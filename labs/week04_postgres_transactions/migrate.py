"""Alembic plumbing for this week's lab: a ``Config`` that points at any database.

Tests (and you, from Python) call ``alembic_config(url)`` and hand it to ``alembic.command``;
from a shell, ``alembic -c labs/week04_postgres_transactions/alembic.ini …`` reads the URL from
``DATABASE_URL`` instead. Either way ``migrations/env.py`` gets it from :func:`sqlalchemy_url`.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlalchemy_url(database_url: str) -> str:
    """``postgresql://…`` → ``postgresql+psycopg://…`` (SQLAlchemy would otherwise pick psycopg2)."""
    scheme, sep, rest = database_url.partition("://")
    if scheme in {"postgres", "postgresql"}:
        scheme = "postgresql+psycopg"
    return f"{scheme}{sep}{rest}"


def url_from_environment() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("set DATABASE_URL to the database to migrate, e.g. "
                           "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/week04")
    return url


def alembic_config(database_url: str) -> Config:
    """An Alembic ``Config`` for this lab's migrations, targeting ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = sqlalchemy_url(database_url)
    return config
