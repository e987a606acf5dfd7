"""The async SQLAlchemy engine and session factory, made once per process in its lifespan.

psycopg 3 drives both the API and the workers; the URL scheme is normalised to
``postgresql+psycopg://`` so a plain ``postgresql://`` from a platform's environment works too.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from .config import Settings


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` or ``postgres://…`` as SQLAlchemy's psycopg 3 dialect names it."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"ANCHOR_DATABASE_URL must be a postgresql:// URL, not {url.split(':', 1)[0]}://…")


def make_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(sqlalchemy_url(settings.database_url), pool_size=settings.db_pool_size,
                               max_overflow=settings.db_pool_size, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit: handlers serialise rows after committing."""
    return async_sessionmaker(engine, expire_on_commit=False)
