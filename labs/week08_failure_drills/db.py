"""PostgreSQL access with a bound on every wait: connect, pool checkout and statement.

SQLAlchemy Core with psycopg 3. ``pool_pre_ping`` checks a pooled connection before use, so
after an outage the first request gets a fresh connection instead of a dead one — recovery
needs no restart.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from .models import Item
from .settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
)
"""


def sqlalchemy_url(database_url: str) -> str:
    """``postgresql://…`` → ``postgresql+psycopg://…`` (psycopg 3, not the psycopg2 default)."""
    return make_url(database_url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def make_engine(settings: Settings) -> Engine:
    return create_engine(
        sqlalchemy_url(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=0,  # the pool size is a hard cap: a bulkhead in front of PostgreSQL
        pool_timeout=settings.db_pool_timeout_s,  # waiting for a free connection is bounded too
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_s,
            # Server-side bound on any one statement: a slow query or a lock wait cannot hold
            # a connection (and a request thread) forever.
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
        },
    )


def create_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(SCHEMA))


def fetch_item(engine: Engine, item_id: uuid.UUID) -> Item | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, name, price_cents FROM items WHERE id = :id"),
                           {"id": item_id}).mappings().first()
    return Item.model_validate(dict(row)) if row else None


def insert_item(engine: Engine, item: Item) -> None:
    """Insert and COMMIT: ``engine.begin()`` commits when the block ends, or raises."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO items (id, name, price_cents) VALUES (:id, :name, :price_cents)"),
                     item.model_dump())


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
