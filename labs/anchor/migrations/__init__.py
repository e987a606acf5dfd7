"""Alembic migrations, run from code: ``python -m anchor.migrations upgrade`` (or ``downgrade``).

No ``alembic.ini``: the script location is this folder and the URL comes from the settings, so the
same command works in the course, in the container and in the exported repository.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from ..core.db import sqlalchemy_url

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
