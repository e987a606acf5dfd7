"""Alembic environment: run this lab's migrations against one PostgreSQL database.

The URL comes from the ``Config`` built by ``migrate.alembic_config`` (tests) or from
``DATABASE_URL`` (the ``alembic`` command line). ``target_metadata`` is what ``alembic check``
and ``revision --autogenerate`` compare the database with.
"""

from __future__ import annotations

import logging.config

from alembic import context
from sqlalchemy import create_engine, pool

from labs.week04_postgres_transactions.migrate import sqlalchemy_url, url_from_environment
from labs.week04_postgres_transactions.models import Base

config = context.config
if config.config_file_name is not None:
    logging.config.fileConfig(config.config_file_name)

target_metadata = Base.metadata
url = config.attributes.get("database_url") or sqlalchemy_url(url_from_environment())
compare = {"compare_type": True, "compare_server_default": True}


def run_migrations_offline() -> None:
    """``alembic upgrade --sql``: print the SQL instead of running it."""
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, **compare)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # NullPool: a migration run is one short conversation; no connection should outlive it.
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # A migration waits at most 5 s for a lock instead of queueing every query behind it.
        connection.exec_driver_sql("SET lock_timeout = '5s'")
        connection.commit()  # end the implicit transaction; the setting stays for the session
        context.configure(connection=connection, target_metadata=target_metadata, **compare)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
